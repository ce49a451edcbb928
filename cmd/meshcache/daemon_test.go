package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
)

// daemon is one `meshcache daemon` process. Its data directory outlives it,
// so a test can start another daemon on it.
type daemon struct {
	t      testing.TB
	data   string
	sock   string
	logf   string
	cmd    *exec.Cmd
	done   chan struct{}
	state  *os.ProcessState // valid after done closes
	client *api.Client
}

// daemonOpts says how to start a daemon.
type daemonOpts struct {
	data  string   // data directory (required)
	sock  string   // socket path (required)
	allow []string // --allow-origin values
	env   []string // extra environment, e.g. the fault spec
	args  []string // extra daemon flags
	// viaEnv gives the data directory and the socket through
	// MESHCACHE_DATA and MESHCACHE_SOCKET instead of flags.
	viaEnv bool
	// netns, when set, runs the daemon in that network namespace (`ip
	// netns exec`, which execs the daemon in place).
	netns string
}

// socketDir is a short directory for unix sockets (their paths are limited
// to 108 bytes, and t.TempDir's can be longer).
func socketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mcs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// startDaemon starts a daemon and waits until its API answers. The process
// is killed when the test ends if it still runs.
func startDaemon(t testing.TB, o daemonOpts) *daemon {
	t.Helper()
	d := startDaemonNoWait(t, o)
	d.waitReady()
	return d
}

// startDaemonNoWait starts a daemon without waiting for its API (a daemon
// given a fault may die before it answers).
func startDaemonNoWait(t testing.TB, o daemonOpts) *daemon {
	t.Helper()
	args := []string{"daemon", "--log-level", "debug"}
	env := o.env
	if o.viaEnv {
		env = append(env, "MESHCACHE_DATA="+o.data, "MESHCACHE_SOCKET="+o.sock)
	} else {
		args = append(args, "--data", o.data, "--socket", o.sock)
	}
	for _, a := range o.allow {
		args = append(args, "--allow-origin", a)
	}
	args = append(args, o.args...)
	logf := filepath.Join(o.data+".logs", time.Now().Format("150405.000000")+".log")
	if err := os.MkdirAll(filepath.Dir(logf), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, args...)
	if o.netns != "" {
		cmd = exec.Command("ip", append([]string{"netns", "exec", o.netns, binPath}, args...)...)
	}
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	// Dies with the test binary, so an aborted test leaves no daemon behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		t.Fatalf("start daemon: %v", err)
	}
	d := &daemon{t: t, data: o.data, sock: o.sock, logf: logf, cmd: cmd, done: make(chan struct{}),
		client: &api.Client{SocketPath: o.sock}}
	go func() {
		cmd.Wait()
		d.state = cmd.ProcessState
		out.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		if d.running() {
			cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

// cleanEnv is the test's environment without the meshcache variables that
// would change what a daemon or a command does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MESHCACHE_") {
			env = append(env, kv)
		}
	}
	return env
}

func (d *daemon) running() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

func (d *daemon) waitReady() {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := d.client.Stats(ctx)
		cancel()
		if err == nil {
			return
		}
		if !d.running() || time.Now().After(deadline) {
			d.t.Fatalf("daemon did not start (%v, exited %v):\n%s", err, !d.running(), d.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// log is the daemon's output so far, for failure messages.
func (d *daemon) log() string {
	b, err := os.ReadFile(d.logf)
	if err != nil {
		return err.Error()
	}
	const max = 8 << 10
	if len(b) > max {
		b = append([]byte("...\n"), b[len(b)-max:]...)
	}
	return string(b)
}

// kill sends SIGKILL and waits for the process to be gone.
func (d *daemon) kill() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		d.t.Fatalf("kill daemon: %v", err)
	}
	d.wait(10 * time.Second)
}

// term sends SIGTERM and returns how long the daemon took to exit; it
// fails the test unless the daemon exits with status 0 within limit.
func (d *daemon) term(limit time.Duration) time.Duration {
	d.t.Helper()
	start := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatalf("SIGTERM: %v", err)
	}
	d.wait(limit)
	took := time.Since(start)
	if code := d.state.ExitCode(); code != 0 {
		d.t.Fatalf("daemon exited with %v after SIGTERM, want status 0:\n%s", d.state, d.log())
	}
	return took
}

// wait waits for the process to exit within limit.
func (d *daemon) wait(limit time.Duration) {
	d.t.Helper()
	select {
	case <-d.done:
	case <-time.After(limit):
		d.cmd.Process.Kill()
		<-d.done
		d.t.Fatalf("daemon still running after %v:\n%s", limit, d.log())
	}
}

// killedBySIGKILL reports whether the exited process died of SIGKILL.
func (d *daemon) killedBySIGKILL() bool {
	ws, ok := d.state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// mc runs a meshcache command and returns its stdout, stderr and exit code.
func mc(t testing.TB, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = append(cleanEnv(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run meshcache %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// mustMC runs a command that must succeed and returns its stdout.
func mustMC(t testing.TB, env []string, args ...string) string {
	t.Helper()
	out, errOut, code := mc(t, env, args...)
	if code != 0 {
		t.Fatalf("meshcache %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}
