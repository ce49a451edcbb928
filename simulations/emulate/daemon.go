package emulate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/meshcache/meshcache/api"
)

// daemonConfig is one emulated daemon: the flags of `meshcache daemon`.
type daemonConfig struct {
	DataDir      string
	Socket       string
	AllowOrigins []string
	// ClusterKey, when set, joins the mesh with the other fields.
	ClusterKey      string
	Listen          string
	Bootstrap       []string
	Region          string
	PieceBlocks     int
	ProgressTimeout time.Duration
	LogLevel        string
}

// args is the daemon's command line after the binary.
func (c daemonConfig) args() []string {
	a := []string{"daemon", "--data", c.DataDir, "--socket", c.Socket, "--log-level", c.LogLevel}
	for _, o := range c.AllowOrigins {
		a = append(a, "--allow-origin", o)
	}
	if c.ClusterKey == "" {
		return a
	}
	a = append(a, "--cluster-key", c.ClusterKey, "--listen", c.Listen, "--region", c.Region)
	for _, b := range c.Bootstrap {
		a = append(a, "--bootstrap", b)
	}
	if c.PieceBlocks > 0 {
		a = append(a, "--piece-blocks", strconv.Itoa(c.PieceBlocks))
	}
	if c.ProgressTimeout > 0 {
		a = append(a, "--progress-timeout", c.ProgressTimeout.String())
	}
	return a
}

// daemon is a running `meshcache daemon` in a namespace.
type daemon struct {
	host   host
	cfg    daemonConfig
	cmd    *exec.Cmd
	client *api.Client
	log    string
	done   chan struct{}
	err    error
}

// startDaemon runs `ip netns exec NS MESHCACHE daemon …`; the process
// leads its own process group and dies with this process (Pdeathsig), so
// even a harness killed with SIGKILL leaves no daemon running.
func startDaemon(h host, meshcache string, cfg daemonConfig, logPath string) (*daemon, error) {
	cmd, err := startInNamespace(h.NS, append([]string{meshcache}, cfg.args()...), nil, logPath)
	if err != nil {
		return nil, err
	}
	d := &daemon{host: h, cfg: cfg, cmd: cmd, client: &api.Client{SocketPath: cfg.Socket}, log: logPath, done: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		close(d.done)
	}()
	return d, nil
}

// startInNamespace starts argv in namespace ns with env added and its
// output appended to logPath. `ip netns exec` execs argv, so the command's
// pid is the program's.
func startInNamespace(ns string, argv, env []string, logPath string) (*exec.Cmd, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s in %s: %w", argv[0], ns, err)
	}
	return cmd, nil
}

// waitReady waits until the daemon's API answers.
func (d *daemon) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-d.done:
			return fmt.Errorf("daemon in %s exited before answering: %v (log %s: %s)", d.host.NS, d.err, d.log, tail(d.log))
		default:
		}
		if _, err := d.client.Stats(ctx); err == nil {
			return nil
		} else if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("daemon in %s does not answer: %w (log %s: %s)", d.host.NS, err, d.log, tail(d.log))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill ends the daemon's whole process group and waits for it.
func (d *daemon) kill() {
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
	<-d.done
}

// stop asks the daemon to shut down (SIGTERM), then kills it after grace.
func (d *daemon) stop(grace time.Duration) {
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(grace):
		d.kill()
	}
}

// pid is the daemon's process id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// tail is the end of a log file, for error messages.
func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	const n = 2000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
