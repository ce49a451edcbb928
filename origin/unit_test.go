package origin

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestBackoffIsFullJitterUnderAnExponentialCap(t *testing.T) {
	p := RetryPolicy{BaseDelay: 10 * time.Millisecond, MaxDelay: 100 * time.Millisecond}
	for n, ceil := range []time.Duration{10, 20, 40, 80, 100, 100, 100} {
		ceil *= time.Millisecond
		var maxSeen time.Duration
		for range 2000 {
			d := p.backoff(n)
			if d < 0 || d >= ceil {
				t.Fatalf("retry %d: delay %v outside [0, %v)", n, d, ceil)
			}
			maxSeen = max(maxSeen, d)
		}
		// Full jitter spreads over the whole interval.
		if maxSeen < ceil*3/4 {
			t.Fatalf("retry %d: largest of 2000 delays %v, want close to %v", n, maxSeen, ceil)
		}
	}
	if d := p.backoff(200); d >= p.MaxDelay {
		t.Fatalf("huge retry count overflowed: %v", d)
	}
}

func TestRetryStopsWhenTheCallerGivesUp(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := &base{url: "http://h/", retry: fastRetry().withDefaults(), log: discardLogger()}
	b.retry.MaxAttempts = 100
	calls := 0
	err := b.do(ctx, "read", "x", func(context.Context) error {
		calls++
		if calls == 3 {
			cancel()
		}
		return transient(ErrUnavailable, "503", nil)
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Fatalf("err %v after %d calls; want context.Canceled after 3", err, calls)
	}
}

func TestChanges(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	base := FileInfo{Path: "p", Size: 10, ModTime: t0, ETag: `"e1"`, VersionID: "v1"}
	with := func(f func(*FileInfo)) FileInfo { c := base; f(&c); return c }
	cases := []struct {
		name      string
		want, now FileInfo
		diff      string
	}{
		{"same", base, base, ""},
		{"sub-second mtime", base, with(func(f *FileInfo) { f.ModTime = t0.Add(900 * time.Millisecond) }), ""},
		{"quotes differ only", base, with(func(f *FileInfo) { f.ETag = "e1" }), ""},
		{"no etag now", base, with(func(f *FileInfo) { f.ETag = "" }), ""},
		{"size", base, with(func(f *FileInfo) { f.Size = 12 }), "size 10 at publish, 12 now"},
		{"mtime", base, with(func(f *FileInfo) { f.ModTime = t0.Add(time.Second) }), "mtime 2026-11-25T13:00:00Z at publish, 2026-11-25T13:00:01Z now"},
		{"mtime gone", base, with(func(f *FileInfo) { f.ModTime = time.Time{} }), "none now"},
		{"no mtime at publish", with(func(f *FileInfo) { f.ModTime = time.Time{} }), base, ""},
		{"etag", base, with(func(f *FileInfo) { f.ETag = `"e2"` }), `etag "e1" at publish, "e2" now`},
		{"version", base, with(func(f *FileInfo) { f.VersionID = "v2" }), "version v1 at publish, v2 now"},
		{"two at once", base, with(func(f *FileInfo) { f.Size = 11; f.VersionID = "v2" }), "size 10 at publish, 11 now; version"},
	}
	for _, c := range cases {
		got := changes(c.want, c.now)
		if (c.diff == "") != (got == "") || !strings.Contains(got, c.diff) {
			t.Errorf("%s: changes = %q, want %q", c.name, got, c.diff)
		}
	}
}

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in               string
		start, end, size int64
		ok               bool
	}{
		{"bytes 0-9/10", 0, 9, 10, true},
		{"bytes 5-5/1000", 5, 5, 1000, true},
		{"bytes 0-9/*", 0, 0, 0, false},
		{"bytes 9-0/10", 0, 0, 0, false},
		{"bytes 0-10/10", 0, 0, 0, false},
		{"items 0-9/10", 0, 0, 0, false},
		{"bytes -1-9/10", 0, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, c := range cases {
		s, e, n, ok := parseContentRange(c.in)
		if ok != c.ok || (ok && (s != c.start || e != c.end || n != c.size)) {
			t.Errorf("parseContentRange(%q) = %d %d %d %v", c.in, s, e, n, ok)
		}
	}
}

func TestCheckRel(t *testing.T) {
	for p, ok := range map[string]bool{
		"a": true, "a/b c/é": true, ".hidden": true, "a/.meshcache/x": true, "..a": true,
		"": false, "/a": false, "a/": false, "a//b": false, "./a": false, "a/../b": false, "..": false,
		"a\x00b": false, "\xff": false,
	} {
		if err := checkRel(p); (err == nil) != ok {
			t.Errorf("checkRel(%q) = %v, want ok=%v", p, err, ok)
		}
	}
}

func TestErrorTextAndUnwrap(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	e := &Error{Kind: ErrChanged, Origin: "s3://bkt/prefix", Path: "a/b.bin", Op: "read", Detail: "size 10 at publish, 12 now"}
	if e.Error() != "origin changed: s3://bkt/prefix/a/b.bin: size 10 at publish, 12 now" {
		t.Fatalf("text %q", e.Error())
	}
	e2 := &Error{Kind: ErrUnavailable, Origin: "http://h/", Err: cause}
	if !errors.Is(e2, ErrUnavailable) || !errors.Is(e2, cause) || errors.Is(e2, ErrChanged) {
		t.Fatal("Unwrap does not expose Kind and cause")
	}
	if e2.Error() != "origin unavailable: http://h/: dial tcp: refused" {
		t.Fatalf("text %q", e2.Error())
	}
}
