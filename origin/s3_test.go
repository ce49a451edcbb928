package origin

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/minio/minio-go/v7"
)

// s3Proxy stands in front of a real S3 server; intercept may answer a
// request itself (returning true), given how many object GETs came so far.
func s3Proxy(t *testing.T, s3 *testenv.S3, intercept func(w http.ResponseWriter, r *http.Request, gets int64) bool) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	target, _ := url.Parse(s3.Endpoint)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/obj") && intercept(w, r, gets.Add(1)) {
			return
		}
		proxy.ServeHTTP(w, r) // keeps the Host header, so signatures hold
	}))
	t.Cleanup(srv.Close)
	return srv, &gets
}

// slowDownProxy answers the first `first` object GETs with 503 SlowDown, as
// S3 does under load.
func slowDownProxy(t *testing.T, s3 *testenv.S3, first int64) (*httptest.Server, *atomic.Int64) {
	return s3Proxy(t, s3, func(w http.ResponseWriter, r *http.Request, n int64) bool {
		if n > first {
			return false
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>`+
			`<Message>Please reduce your request rate.</Message><RequestId>1</RequestId></Error>`)
		return true
	})
}

// s3Bucket starts versitygw with one bucket holding ds/obj.
func s3Bucket(t *testing.T, data []byte) *testenv.S3 {
	t.Helper()
	s3 := testenv.StartS3(t, t.TempDir())
	writeFiles(t, filepath.Join(s3.Dir, "bkt"), map[string][]byte{"ds/obj": data})
	return s3
}

func TestS3SlowDownIsRetried(t *testing.T) {
	data := randomBytes(1, 5000)
	s3 := s3Bucket(t, data)
	for _, c := range []struct {
		slowDowns int64
		ok        bool
	}{{2, true}, {1000, false}} {
		proxy, gets := slowDownProxy(t, s3, c.slowDowns)
		op, _ := newOpener(t, func(cfg *Config) {
			cfg.Allow = []string{"s3://bkt/ds"}
			cfg.S3 = s3Config(s3)
			cfg.S3.Endpoint = proxy.URL
		})
		o := mustOpen(t, op, "s3://bkt/ds")
		fi, err := o.Stat(context.Background(), "obj")
		if err != nil {
			t.Fatal(err)
		}
		got, err := readRange(t, o, fi, 100, 200)
		if c.ok {
			if err != nil || !bytes.Equal(got, data[100:300]) {
				t.Fatalf("after %d SlowDowns: %d bytes, %v", c.slowDowns, len(got), err)
			}
		} else {
			requireKind(t, err, ErrUnavailable, "s3://bkt/ds/obj", "SlowDown", "gave up after 3 attempts")
		}
		if want := min(c.slowDowns+1, 3); gets.Load() != want {
			t.Fatalf("%d GETs, want %d", gets.Load(), want)
		}
	}
}

func TestS3ErrorsMapAndHideCredentials(t *testing.T) {
	s3 := s3Bucket(t, []byte("x"))
	wrong := s3Config(s3)
	wrong.SecretKey = "wrong-secret-key-123"
	op, logs := newOpener(t, func(c *Config) {
		c.Allow = []string{"s3://bkt", "s3://nobucket"}
		c.S3 = wrong
	})
	_, err := mustOpen(t, op, "s3://bkt/ds").Stat(context.Background(), "obj")
	requireKind(t, err, ErrUnavailable, "s3://bkt/ds/obj", "access denied")
	_, err2 := mustOpen(t, op, "s3://bkt/ds").List(context.Background())
	requireKind(t, err2, ErrUnavailable, "access denied")
	for _, text := range []string{err.Error(), err2.Error(), logs.String()} {
		if strings.Contains(text, wrong.SecretKey) || strings.Contains(text, wrong.AccessKey) {
			t.Fatalf("credentials in %q", text)
		}
	}

	op, _ = newOpener(t, func(c *Config) {
		c.Allow = []string{"s3://bkt", "s3://nobucket"}
		c.S3 = s3Config(s3)
	})
	_, err = mustOpen(t, op, "s3://nobucket/x").Stat(context.Background(), "obj")
	requireKind(t, err, ErrNotFound, "s3://nobucket/x/obj")
	_, err = mustOpen(t, op, "s3://bkt/ds").ReadRange(context.Background(), "nope", 0, 1, FileInfo{Path: "nope", Size: 1})
	requireKind(t, err, ErrNotFound, "s3://bkt/ds/nope")
}

func TestS3VersionedBucketServesThePublishedVersion(t *testing.T) {
	s3 := testenv.StartS3(t, t.TempDir())
	op, _ := newOpener(t, func(c *Config) {
		c.Allow = []string{"s3://vbkt"}
		c.S3 = s3Config(s3)
		c.S3.ListVersions = true
	})
	mc, err := op.s3Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := mc.MakeBucket(ctx, "vbkt", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := mc.EnableVersioning(ctx, "vbkt"); err != nil {
		t.Fatal(err)
	}
	o := mustOpen(t, op, "s3://vbkt/p")
	v1, v2 := randomBytes(1, 3000), randomBytes(2, 4000)
	if err := WriteFile(ctx, o, "f.bin", bytes.NewReader(v1), int64(len(v1))); err != nil {
		t.Fatal(err)
	}
	listed, err := o.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0].VersionID == "" {
		t.Fatalf("versioned listing %+v has no versionId", listed)
	}
	if err := WriteFile(ctx, o, "f.bin", bytes.NewReader(v2), int64(len(v2))); err != nil {
		t.Fatal(err)
	}
	// The published version is still there and is what a read returns.
	got, err := readRange(t, o, listed[0], 1000, 2000)
	if err != nil || !bytes.Equal(got, v1[1000:3000]) {
		t.Fatalf("read of the published version: %d bytes, %v", len(got), err)
	}
	now, err := o.Stat(ctx, "f.bin")
	if err != nil || now.VersionID == listed[0].VersionID || now.Size != 4000 {
		t.Fatalf("Stat after overwrite = %+v, %v", now, err)
	}
	// Without a versionId the overwrite is a change.
	unversioned := listed[0]
	unversioned.VersionID = ""
	_, err = readRange(t, o, unversioned, 0, 10)
	requireKind(t, err, ErrChanged, "size 3000 at publish, 4000 now")
}

func TestWritersStoreFilesAtomically(t *testing.T) {
	dir := t.TempDir()
	s3 := testenv.StartS3(t, t.TempDir())
	if err := os.Mkdir(filepath.Join(s3.Dir, "bkt"), 0o755); err != nil {
		t.Fatal(err)
	}
	ng := testenv.StartNginx(t, dir)
	op, _ := newOpener(t, func(c *Config) {
		c.Allow = []string{"file://" + dir, "s3://bkt", ng.URL()}
		c.S3 = s3Config(s3)
	})
	ctx := context.Background()
	car := randomBytes(8, 100000)
	for _, u := range []string{"file://" + dir, "s3://bkt/ds"} {
		o := mustOpen(t, op, u)
		if err := WriteFile(ctx, o, ".meshcache/bafy.car", bytes.NewReader(car), int64(len(car))); err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		fi, err := o.Stat(ctx, ".meshcache/bafy.car")
		if err != nil || fi.Size != int64(len(car)) {
			t.Fatalf("%s: stat after write = %+v, %v", u, fi, err)
		}
		got, err := readRange(t, o, fi, 0, fi.Size)
		if err != nil || !bytes.Equal(got, car) {
			t.Fatalf("%s: read back %d bytes, %v", u, len(got), err)
		}
		// A source shorter or longer than announced leaves the old file.
		for _, src := range [][]byte{car[:10], append(bytes.Clone(car), 1)} {
			if err := WriteFile(ctx, o, ".meshcache/bafy.car", bytes.NewReader(src), int64(len(car))); err == nil {
				t.Fatalf("%s: a %d-byte source for %d bytes was accepted", u, len(src), len(car))
			}
		}
		if fi2, err := o.Stat(ctx, ".meshcache/bafy.car"); err != nil || fi2.Size != fi.Size {
			t.Fatalf("%s: file after failed writes: %+v, %v", u, fi2, err)
		}
		if _, ok := o.(Writer); !ok {
			t.Fatalf("%s does not implement Writer", u)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, ".meshcache"))
	if len(ents) != 1 {
		t.Fatalf(".meshcache holds %d entries, want only the file (no temp files)", len(ents))
	}
	err := WriteFile(ctx, mustOpen(t, op, ng.URL()), "x", strings.NewReader("x"), 1)
	requireKind(t, err, ErrNotWritable, ng.URL()+"x")
	err = WriteFile(ctx, mustOpen(t, op, "file://"+dir), "../escape", strings.NewReader("x"), 1)
	requireKind(t, err, ErrNotAllowed)
}

func TestS3HangIsATimeout(t *testing.T) {
	s3 := s3Bucket(t, randomBytes(2, 100))
	proxy, gets := s3Proxy(t, s3, func(w http.ResponseWriter, r *http.Request, n int64) bool {
		<-r.Context().Done()
		return true
	})
	op, _ := newOpener(t, func(c *Config) {
		c.Allow = []string{"s3://bkt"}
		c.S3 = s3Config(s3)
		c.S3.Endpoint = proxy.URL
		c.Retry.MaxAttempts = 2
		c.Retry.AttemptTimeout = 100 * time.Millisecond
	})
	_, err := readRange(t, mustOpen(t, op, "s3://bkt/ds"), FileInfo{Path: "obj", Size: 100}, 0, 10)
	requireKind(t, err, ErrTimeout, "s3://bkt/ds/obj", "gave up after 2 attempts")
	if gets.Load() != 2 {
		t.Fatalf("%d GETs, want 2", gets.Load())
	}
}
