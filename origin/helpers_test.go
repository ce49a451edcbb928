package origin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshcache/meshcache/internal/testenv"
)

// fastRetry keeps fault tests quick: tiny delays, short timeouts.
func fastRetry() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:    3,
		BaseDelay:      time.Millisecond,
		MaxDelay:       4 * time.Millisecond,
		AttemptTimeout: 5 * time.Second,
		StallTimeout:   5 * time.Second,
	}
}

// logBuffer collects an opener's log output so tests can search it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newOpener returns an opener with fast retries and a captured debug log;
// mod adjusts the config.
func newOpener(t *testing.T, mod func(*Config)) (*Opener, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg := Config{
		Retry:  fastRetry(),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(string) string { return "" },
	}
	if mod != nil {
		mod(&cfg)
	}
	o, err := NewOpener(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o, logs
}

// s3Config points an opener at a test S3 server.
func s3Config(s *testenv.S3) S3Config {
	return S3Config{Endpoint: s.Endpoint, Region: s.Region, PathStyle: true, AccessKey: s.AccessKey, SecretKey: s.SecretKey}
}

func mustOpen(t *testing.T, o *Opener, url string, opts ...OpenOption) Origin {
	t.Helper()
	or, err := o.Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return or
}

// writeFiles creates files (slash paths relative to dir) with their data.
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for p, data := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// readAll reads a whole range and closes it.
func readRange(t *testing.T, o Origin, fi FileInfo, off, n int64) ([]byte, error) {
	t.Helper()
	rc, err := o.ReadRange(context.Background(), fi.Path, off, n, fi)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// requireKind fails unless err wraps kind and is an *Error naming want
// (a substring of its text).
func requireKind(t *testing.T, err, kind error, want ...string) *Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v; want one wrapping %q", err, kind)
	}
	e, ok := AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not an *origin.Error", err, err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
	return e
}

// byPath indexes a listing.
func byPath(files []FileInfo) map[string]FileInfo {
	m := make(map[string]FileInfo, len(files))
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

// samePathsAndSizes compares two listings by path and size, and by mtime
// at one-second precision when withMtime.
func samePathsAndSizes(t *testing.T, name string, got, want []FileInfo, withMtime bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d files, want %d\ngot:  %v\nwant: %v", name, len(got), len(want), paths(got), paths(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Path != w.Path || g.Size != w.Size || (withMtime && g.ModTime.Unix() != w.ModTime.Unix()) {
			t.Fatalf("%s: entry %d is %+v, want %+v", name, i, g, w)
		}
	}
}

func paths(files []FileInfo) []string {
	var p []string
	for _, f := range files {
		p = append(p, f.Path)
	}
	return p
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
