package node

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
)

// bigBlocks is the big file's block count: past 1024, so its DAG needs a
// second level of internal nodes (1024 links per node in the profile).
const bigBlocks = 1025

// TestFileOfMoreThan1024Blocks publishes a folder holding a file of more
// than 1024 blocks from file:// (one core) and from nginx and S3 (two
// cores): one root. A fresh daemon that knows only nginx then reads ranges
// around the blocks where the first internal node ends, and the tail,
// through read-through. This is the one test that moves about a GiB (three
// times, unstored), so it is kept to what only a file this large shows.
func TestFileOfMoreThan1024Blocks(t *testing.T) {
	ctx := testContext(t, 5*time.Minute)
	s3root := t.TempDir()
	dir := filepath.Join(s3root, testBucket)
	const bigPath = "big/over 1024 blocks.bin"
	bigSize := int64(bigBlocks*mib + 4321)
	writeGenerated(t, filepath.Join(dir, filepath.FromSlash(bigPath)), bigSize, stampFill)
	small := []fixtureFile{{"a small one.txt", 10}, {"z/empty", 0}}
	writeFixture(t, dir, small)
	files := append([]fixtureFile{{bigPath, bigSize}}, small...)
	o := &testOrigins{dir: dir, fileURL: "file://" + dir, files: files, dataSize: sizeOf(files)}
	o.nginx = testenv.StartNginx(t, dir)
	o.httpURL = o.nginx.URL()
	o.s3 = testenv.StartS3(t, s3root)
	o.s3URL = "s3://" + testBucket + "/"

	d := startDaemon(t, o.config())
	var root cid.Cid
	for _, r := range []struct {
		url   string
		procs int
	}{{o.fileURL, 1}, {o.httpURL, 2}, {o.s3URL, 2}} {
		t.Run(fmt.Sprintf("publish %s GOMAXPROCS=%d", strings.SplitN(r.url, ":", 2)[0], r.procs), func(t *testing.T) {
			setProcs(t, r.procs)
			start := time.Now()
			got := publish(ctx, t, d.c, api.PublishRequest{Origin: r.url, NoStore: true})
			t.Logf("published %s in %v: %s", r.url, time.Since(start).Round(time.Millisecond), got)
			if !root.Defined() {
				root = got
			} else if !got.Equals(root) {
				t.Errorf("root from %s is %s, first root %s", r.url, got, root)
			}
		})
	}
	if !root.Defined() {
		t.Fatal("no publish finished")
	}
	st, err := d.c.Stat(ctx, root, bigPath)
	if err != nil || st.Size != bigSize {
		t.Fatalf("stat %q: %+v, %v; want %d bytes", bigPath, st, err, bigSize)
	}

	// A fresh daemon reads through nginx only (the CAR was written by the
	// file:// publish).
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	r := startDaemon(t, Config{AllowOrigins: []string{o.httpURL}})
	// Pin learns the dataset before it answers; unpinning at once leaves
	// the daemon knowing it without holding it.
	if _, err := r.c.Pin(ctx, root, o.httpURL); err != nil {
		t.Fatal(err)
	}
	if err := r.c.Unpin(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := r.c.GC(ctx); err != nil {
		t.Fatal(err)
	}
	before := o.nginx.BytesSent()
	var reads int64
	for _, b := range []int64{1, 1023, 1024, 1025} {
		off := b*mib - 10
		n := min(int64(20), bigSize-off)
		got := readRange(ctx, t, r.c, root, bigPath, off, n)
		reads++
		if want := fileBytes(t, filepath.Join(dir, filepath.FromSlash(bigPath)), off, n); !bytes.Equal(got, want) {
			t.Errorf("bytes [%d, %d) of the big file differ from the origin's", off, off+n)
		}
	}
	// Whole blocks past the first internal node, compared with the stamp.
	for _, b := range []int64{1024, bigBlocks} {
		n := min(int64(mib), bigSize-b*mib)
		got := readRange(ctx, t, r.c, root, bigPath, b*mib, n)
		reads++
		want := make([]byte, n)
		stampFill(b, want)
		if !bytes.Equal(got, want) {
			t.Errorf("block %d of the big file differs from the one stamped %d", b, b)
		}
	}
	// Each read fetches its blocks and at most a read-ahead window more.
	if sent, limit := o.nginx.BytesSent()-before, reads*10*mib; sent > limit {
		t.Errorf("%d small reads made nginx send %d bytes, more than %d", reads, sent, limit)
	}
}
