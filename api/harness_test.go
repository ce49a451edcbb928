package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

// adminGID is the admin group of the test handlers; no such group needs to
// exist in /etc/group.
const adminGID = 990

var testAdmins = Admins{DaemonUID: 0, Group: &Group{Name: "meshcache-admin", GID: adminGID}}

// fixture is a backend holding one dataset and one block.
type fixture struct {
	b         *testBackend
	root      cid.Cid
	files     map[string][]byte
	block     cid.Cid
	blockData []byte
}

const testPiece = 1000

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func newFixture() *fixture {
	f := &fixture{b: newTestBackend(), files: map[string][]byte{
		"a.txt":          randBytes(1, 10007),
		"dir/b.bin":      randBytes(2, 3000),
		"dir/sub/c":      {},
		"broken":         randBytes(3, 20000),
		"broken-small":   randBytes(7, 3000),
		"broken-early":   randBytes(4, 5000),
		"with space.txt": randBytes(5, 10),
	}}
	f.root = f.b.addDataset(f.files, testPiece)
	f.b.file(f.root, "broken").failErr = errors.New("disk read error")
	// Past net/http's 4 KiB buffer, so the status line is out when it fails.
	f.b.file(f.root, "broken").failAt = 9000
	f.b.file(f.root, "broken-small").failErr = errors.New("disk read error")
	f.b.file(f.root, "broken-small").failAt = 1500
	f.b.file(f.root, "broken-early").failErr = OriginError(http.StatusBadGateway, "s3://bucket/data", errors.New("503 Slow Down"))
	f.blockData = randBytes(6, 4096)
	f.block = f.b.addBlock(f.blockData)
	return f
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func newTestHandler(t testing.TB, b Backend) *Handler {
	t.Helper()
	h, err := NewHandler(HandlerConfig{Backend: b, Logger: testLogger(t), Admins: testAdmins})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// startServer serves h on a fresh unix socket until the test ends.
func startServer(t testing.TB, h http.Handler, cfg ServerConfig) (string, *Server) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "api.sock")
	ln, err := Listen(path, 0o660, -1)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Handler = h
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	srv, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return path, srv
}

// request is one HTTP request of a test.
type request struct {
	method, target string
	header         map[string]string
	body           string
}

type result struct {
	status int
	header http.Header
	body   []byte
	err    error // reading the body failed (socket mode)
}

// serveRecorder runs req through h in-process as peer.
func serveRecorder(h http.Handler, req request, peer *Peer) result {
	r := httptest.NewRequest(req.method, req.target, strings.NewReader(req.body))
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	if peer != nil {
		r = r.WithContext(WithPeer(r.Context(), *peer))
	}
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if v := recover(); v != nil && v != http.ErrAbortHandler { //nolint:errorlint
				panic(v)
			}
		}()
		h.ServeHTTP(rec, r)
	}()
	return result{status: rec.Code, header: rec.Result().Header, body: rec.Body.Bytes()}
}

// serveSocket sends req over the unix socket at path.
func serveSocket(t testing.TB, hc *http.Client, req request) result {
	t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r, err := http.NewRequest(req.method, "http://meshcache"+req.target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		r.Header.Set(k, v)
	}
	resp, err := hc.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: b, err: err}
}

func socketClient(path string) *http.Client {
	return &http.Client{Transport: unixTransport(path)}
}

// checkErrorBody asserts an error response is the API's JSON error.
func checkErrorBody(t *testing.T, res result, wantCode string) *Error {
	t.Helper()
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error response Content-Type = %q, want application/json; body %q", ct, res.body)
	}
	var e Error
	dec := json.NewDecoder(bytes.NewReader(res.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("error body %q is not {error, code}: %v", res.body, err)
	}
	if e.Message == "" || e.Code == "" {
		t.Fatalf("error body %q lacks a message or code", res.body)
	}
	if wantCode != "" && e.Code != wantCode {
		t.Fatalf("error code = %q, want %q (message %q)", e.Code, wantCode, e.Message)
	}
	return &e
}

func mustTempDir(t testing.TB, mode os.FileMode) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "meshcache-api-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, mode); err != nil {
		t.Fatal(err)
	}
	return dir
}
