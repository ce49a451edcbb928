package api

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestListenCreatesSocket(t *testing.T) {
	base := mustTempDir(t, 0o755)
	path := filepath.Join(base, "run", "meshcache", "api.sock")
	ln, err := Listen(path, 0o660, 65534)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if st.Mode().Type() != os.ModeSocket || st.Mode().Perm() != 0o660 || sys.Gid != 65534 {
		t.Fatalf("socket mode %v gid %d, want socket 0660 gid 65534", st.Mode(), sys.Gid)
	}
	dir, err := os.Stat(filepath.Dir(path))
	if err != nil || dir.Mode().Perm() != 0o755 {
		t.Fatalf("parent dir: %v %v, want 0755", dir.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("socket dir holds %d entries, want only the socket (the private bind dir must be gone)", len(entries))
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket still there after Close: %v", err)
	}
}

func TestListenStaleAndLive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	// A crashed daemon leaves its socket file behind.
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close()

	ln, err := Listen(path, 0o600, -1)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	defer ln.Close()
	_, err = Listen(path, 0o600, -1)
	if err == nil || !strings.Contains(err.Error(), "another process is listening") {
		t.Fatalf("second Listen = %v, want a refusal", err)
	}
	// The first listener still works.
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("first listener lost its socket: %v", err)
	}
	c.Close()
}

func TestListenRefuses(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "not-a-socket")
	if err := os.WriteFile(file, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(file, 0o660, -1); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("Listen over a file = %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Fatal("Listen damaged the file in its way")
	}
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(filepath.Join(open, "s.sock"), 0o660, -1); err == nil || !strings.Contains(err.Error(), "writable by everyone") {
		t.Fatalf("Listen in a world-writable dir = %v", err)
	}
	if _, err := Listen(filepath.Join(file, "s.sock"), 0o660, -1); err == nil {
		t.Fatal("Listen under a file succeeded")
	}
}

// TestListenCloseKeepsReplacement: a listener closing late must not delete
// the socket of the daemon that replaced it.
func TestListenCloseKeepsReplacement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := Listen(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	ln2, err := Listen(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer ln2.Close()
	ln.Close()
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("closing the old listener removed the new socket: %v", err)
	}
}

// TestServeGracefulShutdown: a request in flight when the context ends
// completes; then Serve returns nil and the socket is gone.
func TestServeGracefulShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		w.Write([]byte("done"))
	})
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := Listen(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerConfig{Handler: h, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()

	got := make(chan string, 1)
	go func() {
		res := serveSocket(t, socketClient(path), request{method: "GET", target: "/"})
		got <- string(res.body)
	}()
	<-entered
	cancel()
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve = %v, want nil after shutdown", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}

// TestServeShutdownTimeout: a request that never ends is cut off after
// ShutdownTimeout, and its context is cancelled.
func TestServeShutdownTimeout(t *testing.T) {
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := Listen(path, 0o600, -1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerConfig{Handler: h, Logger: testLogger(t), ShutdownTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	go func() {
		resp, err := socketClient(path).Get("http://meshcache/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	start := time.Now()
	cancel()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its shutdown timeout")
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("Serve returned after %v, before the shutdown timeout", d)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := NewHandler(HandlerConfig{}); err == nil || !strings.Contains(err.Error(), "Backend") {
		t.Errorf("NewHandler without backend = %v", err)
	}
	if _, err := NewHandler(HandlerConfig{Backend: newTestBackend(), Admins: Admins{Group: &Group{GID: 5}}}); err == nil {
		t.Error("NewHandler accepted an admin group without a name")
	}
	if _, err := NewServer(ServerConfig{}); err == nil || !strings.Contains(err.Error(), "Handler") {
		t.Errorf("NewServer without handler = %v", err)
	}
	if _, err := NewServer(ServerConfig{Handler: http.NotFoundHandler(), IdleTimeout: -1}); err == nil {
		t.Error("NewServer accepted a negative timeout")
	}
}
