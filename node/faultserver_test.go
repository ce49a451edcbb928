package node

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meshcache/meshcache/origin"
)

// faultServer serves a folder over HTTP on 127.0.0.1 with Go's file server
// (Range, Last-Modified, dot-files included, so the CAR under .meshcache/
// is found), behind a middleware that injects a fault. nginx serves the
// normal path; this one exists to misbehave on purpose.
type faultServer struct {
	url string
	srv *httptest.Server
	// dataGets counts GETs of dataset files (not the CAR).
	dataGets atomic.Int64
}

// startFaultServer serves dir through mw (nil: no fault) until the test ends.
func startFaultServer(t testing.TB, dir string, mw func(http.Handler) http.Handler) *faultServer {
	t.Helper()
	fs := &faultServer{}
	var h http.Handler = http.FileServer(http.Dir(dir))
	if mw != nil {
		h = mw(h)
	}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && !isMeta(r) {
			fs.dataGets.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(fs.srv.Close)
	fs.url = fs.srv.URL + "/"
	return fs
}

// isMeta reports whether r asks for meshcache's own files (the CAR).
func isMeta(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/"+origin.MetaDir+"/")
}

// unavailableFirst answers 503 to the first n requests, then serves. n must
// stay below the origin client's attempts per request (5), so that every
// request succeeds on a retry and the fault is certain to be seen.
func unavailableFirst(n int64, served *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		var seen atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if seen.Add(1) <= n {
				served.Add(1)
				http.Error(w, "slow down", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// corruptByte flips the byte at offset off of the file at urlPath in every
// response that carries it.
func corruptByte(urlPath string, off int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != urlPath || r.Method != http.MethodGet {
				next.ServeHTTP(w, r)
				return
			}
			start := int64(0)
			if rng := r.Header.Get("Range"); rng != "" {
				a, _, _ := strings.Cut(strings.TrimPrefix(rng, "bytes="), "-")
				start, _ = strconv.ParseInt(a, 10, 64)
			}
			next.ServeHTTP(&flipWriter{ResponseWriter: w, at: off - start}, r)
		})
	}
}

// flipWriter flips the body byte at position at.
type flipWriter struct {
	http.ResponseWriter
	pos, at int64
}

func (f *flipWriter) Write(p []byte) (int, error) {
	if i := f.at - f.pos; i >= 0 && i < int64(len(p)) {
		p = append([]byte(nil), p...)
		p[i] ^= 0xff
	}
	f.pos += int64(len(p))
	return f.ResponseWriter.Write(p)
}

// gate lets the first allow data GETs through and holds the others until
// open is called or their request ends.
type gate struct {
	allow   int64
	seen    atomic.Int64
	held    atomic.Int64
	once    sync.Once
	release chan struct{}
}

func newGate(allow int64) *gate { return &gate{allow: allow, release: make(chan struct{})} }

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

func (g *gate) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && !isMeta(r) && g.seen.Add(1) > g.allow {
			g.held.Add(1)
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
