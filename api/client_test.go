package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// startClient serves a fresh fixture and returns a client of it.
func startClient(t *testing.T) (*fixture, *Client) {
	t.Helper()
	f := newFixture()
	path, _ := startServer(t, newTestHandler(t, f.b), ServerConfig{})
	return f, &Client{SocketPath: path}
}

func wantAPIError(t *testing.T, err error, status int, code, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want *api.Error", err, err)
	}
	if e.Status != status || e.Code != code || !strings.Contains(e.Message, msg) {
		t.Fatalf("err = %d %s %q, want %d %s containing %q", e.Status, e.Code, e.Message, status, code, msg)
	}
}

func TestClientFiles(t *testing.T) {
	f, c := startClient(t)
	ctx := t.Context()
	data := f.files["a.txt"]

	got, err := c.ReadFile(ctx, f.root, "a.txt")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile: %d bytes, %v", len(got), err)
	}
	for _, r := range []struct{ off, n, wantEnd int64 }{
		{0, 1, 1}, {999, 2, 1001}, {5000, -1, int64(len(data))}, {10000, 100, int64(len(data))}, {3, 0, 3},
	} {
		rc, err := c.OpenRange(ctx, f.root, "a.txt", r.off, r.n)
		if err != nil {
			t.Fatalf("OpenRange(%d, %d): %v", r.off, r.n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data[r.off:r.wantEnd]) {
			t.Fatalf("OpenRange(%d, %d): %d bytes, %v", r.off, r.n, len(got), err)
		}
	}
	_, err = c.OpenRange(ctx, f.root, "a.txt", int64(len(data)), -1)
	wantAPIError(t, err, 416, CodeRangeNotSatisfiable, "10007 bytes")
	_, err = c.Open(ctx, f.root, "dir")
	wantAPIError(t, err, 400, CodeIsDir, "is a directory")
	_, err = c.ReadFile(ctx, f.root, "missing")
	wantAPIError(t, err, 404, CodeNotFound, `"missing"`)

	fi, err := c.Stat(ctx, f.root, "/dir/b.bin")
	wantCID := f.b.datasets[f.root].files["dir/b.bin"].CID()
	if err != nil || fi.Type != TypeFile || fi.Size != 3000 || cid.Cid(fi.CID) != wantCID || fi.Path != "dir/b.bin" {
		t.Fatalf("Stat file = %+v, %v", fi, err)
	}
	fi, err = c.Stat(ctx, f.root, "")
	if err != nil || fi.Type != TypeDir || cid.Cid(fi.CID) != f.root {
		t.Fatalf("Stat root = %+v, %v", fi, err)
	}
	_, err = c.Stat(ctx, f.root, "nope")
	wantAPIError(t, err, 404, CodeNotFound, `no "nope" in dataset`)

	d, err := c.ReadDir(ctx, f.root, "dir")
	if err != nil || len(d.Entries) != 2 || d.Path != "dir" {
		t.Fatalf("ReadDir = %+v, %v", d, err)
	}
	for _, p := range []string{"a.txt", "dir/sub/c"} {
		_, err = c.ReadDir(ctx, f.root, p)
		wantAPIError(t, err, 400, CodeNotDir, "not a directory")
	}

	blk, err := c.Block(ctx, f.block)
	if err != nil || !bytes.Equal(blk, f.blockData) {
		t.Fatalf("Block: %d bytes, %v", len(blk), err)
	}
	_, err = c.Block(ctx, sumCID(cid.Raw, []byte("absent")))
	wantAPIError(t, err, 404, CodeNotFound, "not in the store")
}

func TestClientJobs(t *testing.T) {
	f, c := startClient(t)
	ctx := t.Context()

	st, err := c.Pin(ctx, f.root, "")
	if err != nil || st.State != PinQueued || cid.Cid(st.CID) != f.root {
		t.Fatalf("Pin = %+v, %v", st, err)
	}
	// The progress callback moves the pin on, so each poll sees a new state.
	var seen []PinState
	next := map[PinState]PinState{PinQueued: PinPinning, PinPinning: PinPinned}
	final, err := c.WaitPin(ctx, f.root, time.Millisecond, func(s PinStatus) {
		seen = append(seen, s.State)
		s.State = next[s.State]
		f.b.setPin(s)
	})
	if err != nil || final.State != PinPinned || strings.Join(statesOf(seen), ",") != "queued,pinning,pinned" {
		t.Fatalf("WaitPin = %+v, %v; saw %v", final, err, seen)
	}
	pins, err := c.Pins(ctx)
	if err != nil || len(pins) != 1 {
		t.Fatalf("Pins = %v, %v", pins, err)
	}
	f.b.setPin(PinStatus{CID: CID(f.root), State: PinFailed, Error: "origin s3://b changed"})
	_, err = c.WaitPin(ctx, f.root, time.Millisecond, nil)
	wantAPIError(t, err, 0, CodePinFailed, "origin s3://b changed")
	if err := c.Unpin(ctx, f.root); err != nil {
		t.Fatal(err)
	}
	_, err = c.PinStatus(ctx, f.root)
	wantAPIError(t, err, 404, CodeNotFound, "is not pinned")

	job, err := c.Publish(ctx, PublishRequest{Origin: "file:///data", Files: []string{"a"}})
	if err != nil || job.ID == "" || job.State != PublishQueued {
		t.Fatalf("Publish = %+v, %v", job, err)
	}
	job.State, job.Root = PublishDone, CID(f.root)
	f.b.setJob(job)
	done, err := c.WaitPublish(ctx, job.ID, time.Millisecond, nil)
	if err != nil || cid.Cid(done.Root) != f.root {
		t.Fatalf("WaitPublish = %+v, %v", done, err)
	}
	_, err = c.Publish(ctx, PublishRequest{Origin: "https://unreachable.example/x"})
	wantAPIError(t, err, 503, CodeOriginUnavailable, "https://unreachable.example/x")

	gc, err := c.GC(ctx)
	if err != nil || gc.BlocksRemoved != 1 {
		t.Fatalf("GC = %+v, %v", gc, err)
	}
	stats, err := c.Stats(ctx)
	if err != nil || stats.Version != "test" || stats.API.Requests == 0 {
		t.Fatalf("Stats = %+v, %v", stats, err)
	}
	_, err = c.ID(ctx)
	wantAPIError(t, err, 503, CodeNotAvailable, "mesh is not running")
	_, err = c.Peers(ctx)
	wantAPIError(t, err, 503, CodeNotAvailable, "mesh is not running")
	m, err := c.Metrics(ctx)
	if err != nil || !strings.Contains(string(m), "meshcache_test_metric") {
		t.Fatalf("Metrics = %q, %v", m, err)
	}
}

func statesOf(s []PinState) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

func TestClientWaitStopsWithContext(t *testing.T) {
	f, c := startClient(t)
	if _, err := c.Pin(t.Context(), f.root, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	st, err := c.WaitPin(ctx, f.root, 5*time.Millisecond, nil)
	if !errors.Is(err, context.DeadlineExceeded) || st.State != PinQueued {
		t.Fatalf("WaitPin = %+v, %v; want the last status and DeadlineExceeded", st, err)
	}
}

func TestClientNoDaemon(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	for _, path := range []string{filepath.Join(dir, "missing.sock"), stale} {
		c := &Client{SocketPath: path}
		_, err := c.Stats(t.Context())
		want := "cannot connect to meshcache daemon at " + path + ": is it running? (start it with `meshcache daemon`)"
		var ce *ConnectError
		if !errors.As(err, &ce) || err.Error() != want {
			t.Fatalf("err = %v, want %q", err, want)
		}
	}
}

func TestClientZeroValueUsesEnv(t *testing.T) {
	f := newFixture()
	path, _ := startServer(t, newTestHandler(t, f.b), ServerConfig{})
	t.Setenv(EnvSocket, path)
	var c Client
	if _, err := c.ReadFile(t.Context(), f.root, "a.txt"); err != nil {
		t.Fatal(err)
	}
	if c.Path() != path {
		t.Fatalf("Path = %q, want %q", c.Path(), path)
	}
	os.Unsetenv(EnvSocket)
	var d Client
	if d.Path() != SystemSocketPath {
		t.Fatalf("root's default socket = %q, want %q", d.Path(), SystemSocketPath)
	}
}

// TestClientNonJSONError: net/http answers some malformed requests itself
// in plain text; the client still returns an *Error with the status.
func TestClientNonJSONError(t *testing.T) {
	srv := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "plain failure", http.StatusTeapot)
	})
	path, _ := startServer(t, srv, ServerConfig{})
	_, err := (&Client{SocketPath: path}).Stats(t.Context())
	wantAPIError(t, err, http.StatusTeapot, CodeInternal, "plain failure")
}
