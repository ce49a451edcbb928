// Package testenv starts real servers for tests: nginx serving a folder over
// HTTP with a JSON autoindex, and versitygw serving folders as S3 buckets.
// Every server listens on 127.0.0.1 on a free port, lives in its own temp
// directory, is stopped by t.Cleanup, and fails the test loudly (t.Fatal with
// its log) when its binary is missing or it cannot start; nothing is ever
// skipped. A benchmark that owns its own nginx starts it with LaunchNginx.
//
//	ng := testenv.StartNginx(t, dir)        // ng.URL() == "http://127.0.0.1:PORT/"
//	s3 := testenv.StartS3(t, dir)           // buckets are dir's sub-folders
//	testenv.RequireRoot(t)                  // fails unless euid 0
package testenv

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binary locations on the test machines.
const (
	NginxBinary = "/usr/sbin/nginx"
)

// startAttempts bounds retries when a probed free port is taken by someone
// else between probing and the server binding it.
const startAttempts = 5

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 15 * time.Second

// RequireRoot fails the test (it does not skip it) unless it runs as root.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("this test needs root (euid 0), running as euid %d", os.Geteuid())
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. A
// server started on it may still lose a race with another process, so the
// Start functions retry with a new port when binding fails.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// requireBinary fails the test when a server binary is missing.
func requireBinary(t testing.TB, path string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%s is required by this test and is missing: %v", path, err)
	}
	if st.Mode()&0o111 == 0 {
		t.Fatalf("%s is required by this test and is not executable", path)
	}
}

// proc is a started server process; done closes when it exits.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // exit status, valid after done closes
}

// startProc starts cmd with its output appended to logPath. The process dies
// with the binary that started it (Pdeathsig) so an aborted test or
// benchmark leaves nothing behind.
func startProc(cmd *exec.Cmd, logPath string) (*proc, error) {
	out, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	return p, nil
}

// waitTCP waits until addr accepts connections or the process exits.
func (p *proc) waitTCP(addr string) error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("exited before listening on %s: %v", addr, p.err)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not listening on %s after %v", addr, startTimeout)
}

// stop terminates the process: sig first, SIGKILL if it lingers.
func (p *proc) stop(sig syscall.Signal) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// readLog returns a log file's content for failure messages.
func readLog(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "(empty log)"
	}
	return s
}

// errAddrInUse tells a start attempt to retry on another port.
var errAddrInUse = errors.New("address already in use")

// settle polls read until two reads interval apart agree, up to limit. Server
// logs and metrics are written just after the response's last byte leaves,
// so a client that finished reading may be a moment ahead of them.
func settle[T comparable](read func() T, interval, limit time.Duration) T {
	prev := read()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		time.Sleep(interval)
		cur := read()
		if cur == prev {
			return cur
		}
		prev = cur
	}
	return prev
}

// versitygwBinary finds versitygw where scripts/install-test-deps.sh puts it
// ($(go env GOPATH)/bin, which need not be on PATH), else on PATH.
func versitygwBinary() string {
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
			p := filepath.Join(dir, "bin", "versitygw")
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	return "versitygw (not installed: run scripts/install-test-deps.sh)"
}
