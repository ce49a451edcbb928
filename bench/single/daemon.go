package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/meshcache/meshcache/api"
)

// daemon is a meshcache daemon run from the built binary, as an operator
// runs it.
type daemon struct {
	cmd    *exec.Cmd
	dir    string // holds data/, the socket and the log
	socket string
	client *api.Client
	done   chan error
}

// startDaemon starts `meshcache daemon` with its data under dir and waits
// until its API answers.
func startDaemon(ctx context.Context, bin, dir string, allow ...string) (*daemon, error) {
	return startDaemonArgs(ctx, bin, dir, nil, allow...)
}

// startDaemonArgs is startDaemon with extra daemon flags.
func startDaemonArgs(ctx context.Context, bin, dir string, extra []string, allow ...string) (*daemon, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	d := &daemon{dir: dir, socket: filepath.Join(dir, "api.sock"), done: make(chan error, 1)}
	args := []string{"daemon", "--data", filepath.Join(dir, "data"), "--socket", d.socket, "--log-level", "warn"}
	for _, a := range allow {
		args = append(args, "--allow-origin", a)
	}
	args = append(args, extra...)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// The daemon dies with the bench, should the bench itself be killed.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	d.client = &api.Client{SocketPath: d.socket}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, err := d.client.Stats(ctx)
		if err == nil {
			return d, nil
		}
		select {
		case werr := <-d.done:
			return nil, fmt.Errorf("daemon exited at start (%v); log %s:\n%s", werr, logf.Name(), tail(logf.Name()))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			d.stop()
			return nil, fmt.Errorf("daemon did not answer on %s: %w", d.socket, err)
		}
	}
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

func (d *daemon) cpu() time.Duration {
	c, err := procCPU(d.pid())
	if err != nil {
		fatalf("%v", err)
	}
	return c
}

func (d *daemon) hwm() int64 {
	n, err := procHWM(d.pid())
	if err != nil {
		fatalf("%v", err)
	}
	return n
}

// stop ends the daemon with SIGTERM (a clean shutdown), or SIGKILL after 30 s.
func (d *daemon) stop() error {
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-d.done:
		d.done <- err
		return err
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		return fmt.Errorf("daemon %d ignored SIGTERM for 30 s; killed", d.pid())
	}
}

// remove stops the daemon and deletes its directory.
func (d *daemon) remove() {
	if err := d.stop(); err != nil {
		logf("stop daemon: %v", err)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		fatalf("remove %s: %v", d.dir, err)
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
