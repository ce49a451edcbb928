package node

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
)

// testDaemon is a real daemon running in-process, reached only through its
// unix socket.
type testDaemon struct {
	t   testing.TB
	cfg Config
	c   *api.Client
	n   *Node

	cancel   context.CancelFunc
	done     chan error
	stopOnce sync.Once
	stopErr  error
}

// stopTimeout bounds a clean shutdown; a daemon slower than this is a bug.
const stopTimeout = 30 * time.Second

// startDaemon starts a daemon with cfg; an empty DataDir or SocketPath gets a
// fresh temp one. The daemon is stopped when the test ends, and the test
// waits for Run to return.
func startDaemon(t testing.TB, cfg Config) *testDaemon {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(t.TempDir(), "data")
	}
	if cfg.SocketPath == "" {
		cfg.SocketPath = socketPath(t)
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	n, err := New(cfg)
	if err != nil {
		t.Fatalf("new daemon: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &testDaemon{t: t, cfg: cfg, c: &api.Client{SocketPath: cfg.SocketPath}, n: n, cancel: cancel, done: make(chan error, 1)}
	go func() { d.done <- n.Run(ctx) }()
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Errorf("daemon %s: Run returned %v", cfg.DataDir, err)
		}
	})
	d.waitReady()
	return d
}

// waitReady waits until the API answers.
func (d *testDaemon) waitReady() {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := d.c.Stats(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case rerr := <-d.done:
			d.done <- rerr
			d.t.Fatalf("daemon stopped before serving: %v", rerr)
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("daemon did not answer on %s: %v", d.cfg.SocketPath, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop cancels Run's context (as SIGTERM does) and returns what Run
// returned. It is idempotent.
func (d *testDaemon) stop() error {
	d.stopOnce.Do(func() {
		d.cancel()
		select {
		case d.stopErr = <-d.done:
		case <-time.After(stopTimeout):
			d.stopErr = errors.New("Run did not return within " + stopTimeout.String() + " of cancellation")
		}
	})
	return d.stopErr
}

// restart stops the daemon and starts a new one on the same data directory
// and socket, with cfg adjusted by adjust (nil: unchanged).
func (d *testDaemon) restart(adjust func(*Config)) *testDaemon {
	d.t.Helper()
	if err := d.stop(); err != nil {
		d.t.Fatalf("stop daemon: %v", err)
	}
	cfg := d.cfg
	if adjust != nil {
		adjust(&cfg)
	}
	return startDaemon(d.t, cfg)
}

// socketPath is a socket path short enough for sun_path (108 bytes) however
// long the test's name is.
func socketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mcsock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "api.sock")
}

// testLogger sends the daemon's warnings and errors to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testContext is a context that ends with the test (or after limit).
func testContext(t testing.TB, limit time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	return ctx
}

// publish publishes req through the API and returns the root.
func publish(ctx context.Context, t testing.TB, c *api.Client, req api.PublishRequest) cid.Cid {
	t.Helper()
	st, err := c.Publish(ctx, req)
	if err == nil {
		st, err = c.WaitPublish(ctx, st.ID, 20*time.Millisecond, nil)
	}
	if err != nil {
		t.Fatalf("publish %s: %v", req.Origin, err)
	}
	return cid.Cid(st.Root)
}

// pin pins root through the API and waits until the pin ends; the error is
// the API's (pin_failed carries the pin's error).
func pin(ctx context.Context, c *api.Client, root cid.Cid, origin string) (api.PinStatus, error) {
	if _, err := c.Pin(ctx, root, origin); err != nil {
		return api.PinStatus{}, err
	}
	return c.WaitPin(ctx, root, 20*time.Millisecond, nil)
}

// mustPin pins root and fails the test unless the pin completes.
func mustPin(ctx context.Context, t testing.TB, c *api.Client, root cid.Cid, origin string) api.PinStatus {
	t.Helper()
	st, err := pin(ctx, c, root, origin)
	if err != nil {
		t.Fatalf("pin %s from %q: %v", root, origin, err)
	}
	return st
}

// apiError returns err's *api.Error or fails the test.
func asAPIError(t testing.TB, err error) *api.Error {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v (%T), want an *api.Error", err, err)
	}
	return e
}

// rawResponse is a response read whole.
type rawResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// rawRequest sends one request over the daemon's socket without the api
// client (for malformed requests and headers the client does not send).
func (d *testDaemon) rawRequest(t testing.TB, method, path, body string, hdr http.Header) rawResponse {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.cfg.SocketPath)
		},
	}}
	defer hc.CloseIdleConnections()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://meshcache"+path, rd)
	if err != nil {
		t.Fatalf("build %s %s: %v", method, path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return rawResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// escapePath escapes each segment of a dataset path for a URL.
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
