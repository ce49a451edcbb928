package origin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"time"

	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// trio serves one set of files from file://, nginx and S3; the same
// conformance checks run against each.
type trio struct {
	op      *Opener
	dir     string // the folder file:// and nginx serve
	ng      *testenv.Nginx
	s3      *testenv.S3
	mc      *minio.Client
	origins []Origin // file, http, s3
}

func startTrio(t *testing.T, files map[string][]byte) *trio {
	t.Helper()
	top := t.TempDir()
	tr := &trio{dir: filepath.Join(top, "ds")}
	writeFiles(t, tr.dir, files)
	tr.ng = testenv.StartNginx(t, top)
	tr.s3 = testenv.StartS3(t, filepath.Join(top, "s3"))
	var err error
	tr.mc, err = minio.New(tr.s3.HostPort, &minio.Options{
		Creds:  credentials.NewStaticV4(tr.s3.AccessKey, tr.s3.SecretKey, ""),
		Region: tr.s3.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tr.s3.Dir, "bkt"), 0o755); err != nil {
		t.Fatal(err)
	}
	for p, data := range files {
		tr.putS3(t, p, data)
	}
	tr.op, _ = newOpener(t, func(c *Config) {
		c.Allow = []string{"file://" + top, tr.ng.URL(), "s3://bkt"}
		c.S3 = s3Config(tr.s3)
	})
	for _, u := range []string{"file://" + tr.dir, tr.ng.URL() + "ds", "s3://bkt/ds"} {
		tr.origins = append(tr.origins, mustOpen(t, tr.op, u))
	}
	return tr
}

// putS3 writes an object with the minio client directly, not through the
// code under test.
func (tr *trio) putS3(t *testing.T, p string, data []byte) {
	t.Helper()
	_, err := tr.mc.PutObject(context.Background(), "bkt", "ds/"+p, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("put %s: %v", p, err)
	}
}

// ranges returns fixed edge cases and seeded random ranges inside size.
func ranges(size int64) [][2]int64 {
	const mib = 1 << 20
	rs := [][2]int64{{0, 1}, {0, size}, {size - 1, 1}, {mib - 1, 2}, {mib, mib}, {1, size - 2}, {size - mib, mib}}
	r := rand.New(rand.NewPCG(7, 11))
	for range 20 {
		off := r.Int64N(size)
		rs = append(rs, [2]int64{off, 1 + r.Int64N(size-off)})
	}
	return rs
}

func TestRangedReadsReturnTheFileBytesOnEveryOrigin(t *testing.T) {
	data := randomBytes(42, 3<<20+12345)
	tr := startTrio(t, map[string][]byte{"big.bin": data, "dir/ä b.bin": data[:777]})
	for _, o := range tr.origins {
		t.Run(o.URL(), func(t *testing.T) {
			fi, err := o.Stat(context.Background(), "big.bin")
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, r := range ranges(int64(len(data))) {
				got, err := readRange(t, o, fi, r[0], r[1])
				if err != nil {
					t.Fatalf("range %v: %v", r, err)
				}
				if !bytes.Equal(got, data[r[0]:r[0]+r[1]]) {
					t.Fatalf("range %v: %d bytes differ from the file's", r, len(got))
				}
				total += r[1]
			}
			small, err := o.Stat(context.Background(), "dir/ä b.bin")
			if err != nil {
				t.Fatal(err)
			}
			rc, err := o.ReadRange(context.Background(), small.Path, 100, 50, small)
			if err != nil {
				t.Fatal(err)
			}
			if err := iotest.TestReader(rc, data[100:150]); err != nil {
				t.Fatal(err)
			}
			rc.Close()
			rc.Close() // idempotent
			total += 50
			empty, err := o.ReadRange(context.Background(), "big.bin", 5, 0, fi)
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := io.ReadAll(empty); len(b) != 0 {
				t.Fatalf("zero-length read gave %d bytes", len(b))
			}
			if _, err := o.ReadRange(context.Background(), "big.bin", fi.Size-1, 2, fi); err == nil {
				t.Fatal("a range past the end at publish was accepted")
			}
			if got := tr.op.BytesRead()[o.URL()]; got != total {
				t.Fatalf("BytesRead %d, want %d", got, total)
			}
		})
	}
	// The servers' own counters agree with the opener's.
	if got, want := tr.ng.BytesSent(), tr.op.BytesRead()[tr.origins[1].URL()]; got != want {
		t.Fatalf("nginx sent %d body bytes, opener counted %d", got, want)
	}
	if got, want := tr.s3.BytesSent(), tr.op.BytesRead()[tr.origins[2].URL()]; got != want {
		t.Fatalf("versitygw sent %d bytes, opener counted %d", got, want)
	}
}

func TestChangedObjectIsReportedNamingIt(t *testing.T) {
	data := randomBytes(9, 4096)
	tr := startTrio(t, map[string][]byte{"f.bin": data, "g.bin": data})
	ctx := context.Background()
	// Versions as recorded at publish: from the listings (which give no
	// ETag over nginx's autoindex) and from Stat (which gives ETags).
	listed := make([]map[string]FileInfo, len(tr.origins))
	stated := make([]FileInfo, len(tr.origins))
	for i, o := range tr.origins {
		l, err := o.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		listed[i] = byPath(l)
		if stated[i], err = o.Stat(ctx, "g.bin"); err != nil {
			t.Fatal(err)
		}
	}
	if stated[1].ETag == "" || stated[2].ETag == "" {
		t.Fatalf("nginx and S3 give strong ETags; got %q and %q", stated[1].ETag, stated[2].ETag)
	}

	// Grow f.bin by 10 bytes, and change g.bin's content and mtime but not
	// its size.
	grown := append(bytes.Clone(data), randomBytes(10, 10)...)
	changed := randomBytes(11, len(data))
	writeFiles(t, tr.dir, map[string][]byte{"f.bin": grown, "g.bin": changed})
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(tr.dir, "g.bin"), later, later); err != nil {
		t.Fatal(err)
	}
	tr.putS3(t, "f.bin", grown)
	tr.putS3(t, "g.bin", changed)

	for i, o := range tr.origins {
		want := listed[i]["f.bin"]
		_, err := readRange(t, o, want, 0, 100)
		requireKind(t, err, ErrChanged,
			fmt.Sprintf("origin changed: %s/f.bin: size %d at publish, %d now", o.URL(), len(data), len(grown)))

		_, err = readRange(t, o, stated[i], 10, 10)
		e := requireKind(t, err, ErrChanged, o.URL()+"/g.bin")
		if e.Path != "g.bin" || e.Origin != o.URL() || e.Op != "read" {
			t.Fatalf("error fields %+v", e)
		}
		if i == 0 && !bytes.Contains([]byte(err.Error()), []byte("mtime")) {
			t.Fatalf("file:// change not reported as an mtime change: %v", err)
		}
	}
	// The error for g.bin over S3 comes from the ETag (the content changed
	// within the same second, possibly).
	_, err := readRange(t, tr.origins[2], stated[2], 0, 1)
	requireKind(t, err, ErrChanged, "etag")
}

func TestFileShrinkingWhileReadIsAChange(t *testing.T) {
	dir := t.TempDir()
	data := randomBytes(3, 1<<20)
	writeFiles(t, dir, map[string][]byte{"f": data})
	op, _ := newOpener(t, func(c *Config) { c.Allow = []string{"file://" + dir} })
	o := mustOpen(t, op, "file://"+dir)
	fi, err := o.Stat(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := o.ReadRange(context.Background(), "f", 0, fi.Size, fi)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := os.Truncate(filepath.Join(dir, "f"), 1000); err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	requireKind(t, err, ErrChanged, "shorter than at publish")
	if n != 1000 {
		t.Fatalf("read %d bytes before the error, want 1000", n)
	}
}

func TestMissingObjectIsNotFoundOnEveryOrigin(t *testing.T) {
	tr := startTrio(t, map[string][]byte{"present": []byte("x")})
	for _, o := range tr.origins {
		_, err := o.Stat(context.Background(), "absent/file")
		requireKind(t, err, ErrNotFound, o.URL()+"/absent/file")
		_, err = o.ReadRange(context.Background(), "absent", 0, 1, FileInfo{Path: "absent", Size: 1})
		requireKind(t, err, ErrNotFound)
		for _, bad := range []string{"../etc/passwd", "/abs", "a//b", ""} {
			_, err := o.Stat(context.Background(), bad)
			if !errors.Is(err, ErrNotAllowed) {
				t.Fatalf("%s: Stat(%q) = %v, want ErrNotAllowed", o.URL(), bad, err)
			}
		}
	}
}
