package origin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrencyLimitHoldsAcrossOpensOfOneServer(t *testing.T) {
	data := randomBytes(1, 64<<10)
	var inflight, peak atomic.Int64
	s := startFaultServer(t, data, func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		now := inflight.Add(1)
		defer inflight.Add(-1)
		for p := peak.Load(); now > p && !peak.CompareAndSwap(p, now); p = peak.Load() {
		}
		// Hold the request until the limit's worth are in (or a while has
		// passed), so a loaded machine still shows the peak.
		for deadline := time.Now().Add(time.Second); inflight.Load() < 3 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
		s.serve(w, r)
	})
	op, _ := newOpener(t, func(c *Config) {
		c.Allow = []string{s.URL}
		c.MaxConcurrent = 3
	})
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Go(func() {
			// Two prefixes of the same server share its limit.
			o, err := op.Open(context.Background(), s.URL+[]string{"/", "/a/.."}[i%2])
			if err != nil {
				errs <- err
				return
			}
			rc, err := o.ReadRange(context.Background(), "obj", int64(i)*100, 100, s.want())
			if err != nil {
				errs <- err
				return
			}
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p != 3 {
		t.Fatalf("server saw %d concurrent requests, want the limit, 3", p)
	}
}

func TestSlotIsHeldUntilTheBodyIsClosed(t *testing.T) {
	s := startFaultServer(t, randomBytes(2, 1000), func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		s.serve(w, r)
	})
	o, _, _ := s.open(t, func(c *Config) { c.MaxConcurrent = 2 })
	var open []io.ReadCloser
	for range 2 {
		rc, err := o.ReadRange(context.Background(), "obj", 0, 10, s.want())
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, rc)
	}
	// Both slots are taken by unread bodies: a third read waits.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := o.ReadRange(ctx, "obj", 0, 10, s.want())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third read with both slots held: %v, want it to wait until its deadline", err)
	}
	requireKind(t, err, context.DeadlineExceeded, s.URL+"/obj")
	// Reading one body to its end frees its slot even before Close.
	if _, err := io.ReadAll(open[0]); err != nil {
		t.Fatal(err)
	}
	rc, err := o.ReadRange(context.Background(), "obj", 0, 10, s.want())
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	open[1].Close()
	open[0].Close()
}

func TestCredentialsNeverShowInErrorsLogsOrCounters(t *testing.T) {
	const user, password = "alice-user", "pa55w0rd-secret"
	var sawAuth atomic.Bool
	s := startFaultServer(t, nil, func(s *faultServer, w http.ResponseWriter, r *http.Request, n int64) {
		u, p, ok := r.BasicAuth()
		sawAuth.Store(ok && u == user && p == password)
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	op, logs := newOpener(t, func(c *Config) {
		c.Allow = []string{s.URL}
		c.HTTP.Header = http.Header{"X-Api-Token": {"tok-tok-tok-secret"}}
	})
	raw := strings.Replace(s.URL, "http://", "http://"+user+":"+password+"@", 1) + "/data"
	o := mustOpen(t, op, raw)
	_, err := o.Stat(context.Background(), "file.bin")
	requireKind(t, err, ErrUnavailable, "500")
	if !sawAuth.Load() {
		t.Fatal("the server did not get the URL's credentials as basic auth")
	}
	s.Close()
	_, err2 := o.ReadRange(context.Background(), "file.bin", 0, 1, FileInfo{Path: "file.bin", Size: 1})
	requireKind(t, err2, ErrUnavailable, "connection refused")
	_, err3 := op.Open(context.Background(), strings.Replace(raw, "127.0.0.1", "127.0.0.2", 1))
	requireKind(t, err3, ErrNotAllowed)

	var counters strings.Builder
	for k := range op.BytesRead() {
		counters.WriteString(k)
	}
	for _, text := range []string{err.Error(), err2.Error(), err3.Error(), o.URL(), logs.String(), counters.String()} {
		for _, secret := range []string{user, password, "tok-tok-tok-secret"} {
			if strings.Contains(text, secret) {
				t.Fatalf("%q shows up in %q", secret, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "retrying") {
		t.Fatalf("retries were not logged, so the log check proves nothing:\n%s", logs)
	}
}

func TestScrubberRemovesSecretsFromCauses(t *testing.T) {
	sc := newScrubber("abc", "longsecret") // "abc" is too short to scrub
	err := sc.err(errors.New("dial longsecret@abc: refused"))
	if err.Error() != "dial ***@abc: refused" {
		t.Fatalf("scrubbed %q", err)
	}
	base := errors.New("cause")
	if !errors.Is(sc.err(base), base) {
		t.Fatal("scrubbing lost the cause")
	}
}
