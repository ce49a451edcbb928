package origin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// faultServer is a small HTTP origin whose behaviour per request is set by
// the test; it serves one object, "obj".
type faultServer struct {
	*httptest.Server
	data     []byte
	mtime    time.Time
	requests atomic.Int64
	// stop unblocks handlers that hang.
	stop chan struct{}
}

// startFaultServer serves obj with handle(w, r, n), n counting from 1.
func startFaultServer(t *testing.T, data []byte, handle func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64)) *faultServer {
	t.Helper()
	s := &faultServer{data: data, mtime: time.Now().Add(-time.Hour).Truncate(time.Second), stop: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(s, w, r, s.requests.Add(1))
	}))
	t.Cleanup(func() {
		close(s.stop)
		s.Close()
	})
	return s
}

// serve answers like a correct server (Range, Last-Modified, If-Match).
func (s *faultServer) serve(w http.ResponseWriter, r *http.Request) {
	http.ServeContent(w, r, "obj", s.mtime, bytes.NewReader(s.data))
}

func (s *faultServer) want() FileInfo {
	return FileInfo{Path: "obj", Size: int64(len(s.data)), ModTime: s.mtime}
}

func (s *faultServer) open(t *testing.T, mod func(*Config)) (Origin, *Opener, *logBuffer) {
	t.Helper()
	op, logs := newOpener(t, func(c *Config) {
		c.Allow = []string{s.URL}
		if mod != nil {
			mod(c)
		}
	})
	return mustOpen(t, op, s.URL+"/"), op, logs
}

func TestServerIgnoringRangeIsSkippedWithinMaxSkipAndRefusedBeyond(t *testing.T) {
	data := randomBytes(1, 256<<10)
	s := startFaultServer(t, data, func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Last-Modified", s.mtime.UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Length", strconv.Itoa(len(s.data)))
		w.Write(s.data) // 200 and the whole object, whatever the Range
	})
	o, op, logs := s.open(t, func(c *Config) { c.HTTP.MaxSkip = 64 << 10 })
	for _, r := range [][2]int64{{0, 100}, {1000, 5000}, {64 << 10, 10}, {0, int64(len(data))}} {
		got, err := readRange(t, o, s.want(), r[0], r[1])
		if err != nil || !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
			t.Fatalf("range %v: %d bytes, %v", r, len(got), err)
		}
	}
	_, err := readRange(t, o, s.want(), 64<<10+1, 10)
	requireKind(t, err, ErrBadResponse, "ignores Range", s.URL+"/obj")
	// The skipped bytes were read from the origin, so they count.
	if got, want := op.BytesRead()[o.URL()], int64(100+6000+(64<<10)+10+len(data)); got != want {
		t.Fatalf("BytesRead %d, want %d", got, want)
	}
	if n := strings.Count(logs.String(), "ignores Range"); n != 1 {
		t.Fatalf("warned %d times about ignored Range, want once:\n%s", n, logs)
	}
}

func TestTransient503IsRetriedWithBackoffThenSucceeds(t *testing.T) {
	data := randomBytes(2, 1000)
	s := startFaultServer(t, data, func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		if n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		s.serve(w, r)
	})
	var mu sync.Mutex
	var delays []time.Duration
	o, _, _ := s.open(t, func(c *Config) {
		c.Retry.MaxAttempts = 3
		c.Retry.BaseDelay, c.Retry.MaxDelay = 10*time.Millisecond, 15*time.Millisecond
		c.Retry.Sleep = func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			delays = append(delays, d)
			return nil
		}
	})
	got, err := readRange(t, o, s.want(), 10, 20)
	if err != nil || !bytes.Equal(got, data[10:30]) {
		t.Fatalf("read after retries: %q, %v", got, err)
	}
	if n := s.requests.Load(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	// Full jitter: retry n waits in [0, min(MaxDelay, BaseDelay·2ⁿ)).
	if len(delays) != 2 || delays[0] >= 10*time.Millisecond || delays[1] >= 15*time.Millisecond || delays[0] < 0 || delays[1] < 0 {
		t.Fatalf("delays %v", delays)
	}
}

func TestPersistentFailuresMapToSentinels(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		kind     error
		requests int64
		text     string
	}{
		{"503", http.StatusServiceUnavailable, ErrUnavailable, 3, "503 Service Unavailable (gave up after 3 attempts)"},
		{"500", http.StatusInternalServerError, ErrUnavailable, 3, "500"},
		{"504", http.StatusGatewayTimeout, ErrTimeout, 3, "504"},
		{"429", http.StatusTooManyRequests, ErrUnavailable, 3, "429"},
		{"404", http.StatusNotFound, ErrNotFound, 1, "404"},
		{"403", http.StatusForbidden, ErrUnavailable, 1, "access denied"},
		{"412", http.StatusPreconditionFailed, ErrChanged, 1, "ETag"},
		{"416", http.StatusRequestedRangeNotSatisfiable, ErrChanged, 1, "smaller than at publish"},
		{"400", http.StatusBadRequest, ErrBadResponse, 1, "400"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startFaultServer(t, []byte("0123456789"), func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
				w.WriteHeader(c.status)
			})
			o, _, _ := s.open(t, nil)
			_, err := readRange(t, o, s.want(), 0, 5)
			e := requireKind(t, err, c.kind, s.URL+"/obj", c.text)
			if e.Origin != o.URL() || e.Origin != s.URL+"/" || e.Path != "obj" {
				t.Fatalf("error names %q %q", e.Origin, e.Path)
			}
			if n := s.requests.Load(); n != c.requests {
				t.Fatalf("%d requests, want %d", n, c.requests)
			}
		})
	}
}

func TestShortBodiesAreBadResponses(t *testing.T) {
	data := randomBytes(3, 10000)
	cases := map[string]func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64){
		// The declared length is right but the connection drops halfway.
		"cut below Content-Length": func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-999/%d", len(s.data)))
			w.Header().Set("Content-Length", "1000")
			w.Header().Set("Last-Modified", s.mtime.UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(s.data[:500])
		},
		// Chunked: the body ends cleanly, but early.
		"chunked and short": func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-999/%d", len(s.data)))
			w.Header().Set("Last-Modified", s.mtime.UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(s.data[:500])
			w.(http.Flusher).Flush()
		},
		// The server answers another range than asked.
		"wrong Content-Range": func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
			r.Header.Set("Range", "bytes=1-1000")
			s.serve(w, r)
		},
	}
	for name, h := range cases {
		t.Run(name, func(t *testing.T) {
			s := startFaultServer(t, data, h)
			o, _, _ := s.open(t, nil)
			got, err := readRange(t, o, s.want(), 0, 1000)
			requireKind(t, err, ErrBadResponse, s.URL+"/obj")
			if !bytes.Equal(got, data[:len(got)]) {
				t.Fatal("the bytes before the error are wrong")
			}
		})
	}
}

func TestHangingServerTimesOut(t *testing.T) {
	data := randomBytes(4, 100000)
	hangHeaders := func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
	}
	hangBody := func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-99999/%d", len(s.data)))
		w.Header().Set("Content-Length", "100000")
		w.Header().Set("Last-Modified", s.mtime.UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(s.data[:30000])
		w.(http.Flusher).Flush()
		hangHeaders(s, w, r, n)
	}
	fast := func(c *Config) {
		c.Retry.MaxAttempts = 2
		c.Retry.AttemptTimeout = 100 * time.Millisecond
		c.Retry.StallTimeout = 100 * time.Millisecond
	}

	s := startFaultServer(t, data, hangHeaders)
	o, _, _ := s.open(t, fast)
	start := time.Now()
	_, err := readRange(t, o, s.want(), 0, 100000)
	requireKind(t, err, ErrTimeout, s.URL+"/obj", "no answer within 100ms")
	if el := time.Since(start); el < 200*time.Millisecond || el > 3*time.Second {
		t.Fatalf("gave up after %v; want two attempts of 100ms", el)
	}
	if n := s.requests.Load(); n != 2 {
		t.Fatalf("%d requests, want 2", n)
	}

	s = startFaultServer(t, data, hangBody)
	o, _, _ = s.open(t, fast)
	rc, err := o.ReadRange(context.Background(), "obj", 0, 100000, s.want())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, err := io.Copy(io.Discard, rc)
	requireKind(t, err, ErrTimeout, "no data for 100ms")
	if n != 30000 {
		t.Fatalf("read %d bytes before the stall, want 30000", n)
	}
}

func TestConnectionRefusedIsUnavailable(t *testing.T) {
	s := startFaultServer(t, nil, func(*faultServer, http.ResponseWriter, *http.Request, int64) {})
	o, _, _ := s.open(t, nil)
	s.Close()
	_, err := o.Stat(context.Background(), "obj")
	requireKind(t, err, ErrUnavailable, "connection refused", s.URL+"/obj", "gave up after 3 attempts")
}

func TestServerIgnoringIfMatchIsStillCaught(t *testing.T) {
	data := randomBytes(5, 1000)
	s := startFaultServer(t, data, func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		r.Header.Del("If-Match")
		w.Header().Set("ETag", `"v2"`)
		s.serve(w, r)
	})
	o, _, _ := s.open(t, nil)
	want := s.want()
	want.ETag = `"v1"`
	_, err := readRange(t, o, want, 0, 10)
	requireKind(t, err, ErrChanged, `etag "v1" at publish, "v2" now`)
	// A weak ETag is not recorded: it may stay when bytes change.
	s2 := startFaultServer(t, data, func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("ETag", `W/"weak"`)
		s.serve(w, r)
	})
	o2, _, _ := s2.open(t, nil)
	fi, err := o2.Stat(context.Background(), "obj")
	if err != nil || fi.ETag != "" || fi.Size != 1000 || !fi.ModTime.Equal(s2.mtime) {
		t.Fatalf("Stat = %+v, %v; want size 1000, mtime %v, no ETag", fi, err, s2.mtime)
	}
}

func TestRedirectsAreFollowedOnlyToAllowedOrigins(t *testing.T) {
	data := randomBytes(6, 2000)
	target := startFaultServer(t, data, func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		s.serve(w, r)
	})
	s := startFaultServer(t, data, func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		http.Redirect(w, r, target.URL+"/obj", http.StatusFound)
	})
	want := target.want()
	for _, allowTarget := range []bool{false, true} {
		o, _, _ := s.open(t, func(c *Config) {
			if allowTarget {
				c.Allow = append(c.Allow, target.URL+"/obj")
			}
		})
		got, err := readRange(t, o, want, 100, 50)
		if !allowTarget {
			requireKind(t, err, ErrNotAllowed, "redirected to "+target.URL+"/obj", "--allow-origin")
			continue
		}
		if err != nil || !bytes.Equal(got, data[100:150]) {
			t.Fatalf("read through an allowed redirect: %d bytes, %v", len(got), err)
		}
	}
	if n := target.requests.Load(); n != 1 {
		t.Fatalf("the redirect target got %d requests, want 1 (only when allowed)", n)
	}
}

func TestHTTPSWithUntrustedCertificateFailsWithoutRetry(t *testing.T) {
	data := randomBytes(7, 500)
	var requests atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.ServeContent(w, r, "obj", time.Unix(1e9, 0), bytes.NewReader(data))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	want := FileInfo{Path: "obj", Size: 500, ModTime: time.Unix(1e9, 0)}

	op, logs := newOpener(t, func(c *Config) { c.Allow = []string{srv.URL} })
	_, err := readRange(t, mustOpen(t, op, srv.URL), want, 0, 10)
	requireKind(t, err, ErrUnavailable, "certificate")
	if strings.Contains(logs.String(), "retrying") {
		t.Fatalf("an untrusted certificate was retried:\n%s", logs)
	}

	op, _ = newOpener(t, func(c *Config) {
		c.Allow = []string{srv.URL}
		c.HTTP.Transport = srv.Client().Transport
	})
	got, err := readRange(t, mustOpen(t, op, srv.URL), want, 490, 10)
	if err != nil || !bytes.Equal(got, data[490:]) || requests.Load() != 1 {
		t.Fatalf("read over trusted TLS: %d bytes, %v, %d requests", len(got), err, requests.Load())
	}
}
