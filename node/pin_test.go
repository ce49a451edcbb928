package node

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/meshcache/meshcache/origin"
)

// TestPinOnFreshDaemon pins a dataset on daemons with empty data
// directories, each through an origin other than the one it was published
// from (nginx and S3 serve the folder a file:// publish wrote its CAR
// into): every file and every range across block boundaries must equal the
// origin's bytes, the origin must send the dataset about once, and the
// daemon's statistics and metrics must agree with the origin's own count.
func TestPinOnFreshDaemon(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	o := startOrigins(t, standardFiles)
	pub := startDaemon(t, Config{AllowOrigins: []string{o.fileURL}})
	root := publish(ctx, t, pub.c, api.PublishRequest{Origin: o.fileURL, NoStore: true})
	if err := pub.stop(); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		url  string
		sent func() int64 // the origin's own count of body bytes sent
	}{
		{"nginx", o.httpURL, o.nginx.BytesSent},
		{"s3", o.s3URL, o.s3.BytesSent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.sent()
			d := startDaemon(t, Config{AllowOrigins: []string{tc.url}, S3: o.s3Config()})
			st := mustPin(ctx, t, d.c, root, tc.url)
			sent := tc.sent() - before
			t.Logf("%s sent %d bytes for a %d-byte dataset (%.4fx)", tc.name, sent, o.dataSize, float64(sent)/float64(o.dataSize))

			if st.State != api.PinPinned || st.BytesDone != o.dataSize || st.BytesTotal != o.dataSize || st.BlocksDone != st.BlocksTotal {
				t.Errorf("pin status %+v: want pinned, %d bytes, every block", st, o.dataSize)
			}
			if st.BySource.Origin != o.dataSize || st.BySource.Local != 0 {
				t.Errorf("pin by source %+v: want all %d bytes from the origin", st.BySource, o.dataSize)
			}
			if limit := o.dataSize + o.dataSize/20; sent < o.dataSize || sent > limit {
				t.Errorf("%s sent %d bytes for a %d-byte dataset: want between 1.0x and 1.05x", tc.name, sent, o.dataSize)
			}

			checkAllFiles(ctx, t, d.c, root, o.dir, o.files)
			checkRanges(ctx, t, d, root, o.dir, o.files)
			if again := tc.sent() - before; again != sent {
				t.Errorf("reading a pinned dataset made %s send %d more bytes", tc.name, again-sent)
			}
			checkOriginStats(ctx, t, d.c, sent)
		})
	}
}

// checkOriginStats checks that the daemon read sent bytes from its one
// origin, per /v1/stats and per /metrics, and that the store's size shows
// in both.
func checkOriginStats(ctx context.Context, t testing.TB, c *api.Client, sent int64) {
	t.Helper()
	stats, err := c.Stats(ctx)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	if len(stats.Origins) != 1 {
		t.Fatalf("stats list origins %+v, want exactly the one used", stats.Origins)
	}
	used := stats.Origins[0]
	if used.BytesRead != sent {
		t.Errorf("stats say %d bytes read from %s; the origin counted %d", used.BytesRead, used.Origin, sent)
	}
	metrics := scrape(ctx, t, c)
	key := `meshcache_origin_read_bytes_total{origin="` + used.Origin + `"}`
	if v, ok := metrics[key]; !ok || int64(v) != sent {
		t.Errorf("metric %s = %v (present %v), want %d", key, v, ok, sent)
	}
	if v, ok := metrics["meshcache_store_bytes"]; !ok || int64(v) != stats.Store.Bytes || v <= 0 {
		t.Errorf("metric meshcache_store_bytes = %v (present %v), want %d (> 0)", v, ok, stats.Store.Bytes)
	}
}

// scrape reads /metrics into a map from "name{labels}" to value.
func scrape(ctx context.Context, t testing.TB, c *api.Client) map[string]float64 {
	t.Helper()
	text, err := c.Metrics(ctx)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestPinDatasetOfEmptyFiles: a dataset with no bytes at all (empty files
// only) publishes, pins on a fresh daemon through nginx, and reads back.
func TestPinDatasetOfEmptyFiles(t *testing.T) {
	ctx := testContext(t, time.Minute)
	files := []fixtureFile{{"empty", 0}, {"dir/also empty", 0}}
	dir, root := publishFiles(t, files)
	ng := testenv.StartNginx(t, dir)
	d := startDaemon(t, Config{AllowOrigins: []string{ng.URL()}})
	st := mustPin(ctx, t, d.c, root, ng.URL())
	if st.State != api.PinPinned || st.BytesTotal != 0 || st.BlocksTotal != 0 {
		t.Errorf("pin of empty files: %+v", st)
	}
	checkAllFiles(ctx, t, d.c, root, dir, files)
	empty, err := rawPrefix.Sum(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		fi, err := d.c.Stat(ctx, root, f.Path)
		if err != nil || fi.Size != 0 || fi.Type != api.TypeFile || !cid.Cid(fi.CID).Equals(empty) {
			t.Errorf("stat %q: %+v, %v; want an empty file with CID %s", f.Path, fi, err, empty)
		}
	}
}

// TestPinThroughPublishOrigin pins on fresh daemons through the very origin
// the dataset was published from, so the record's ETags (and S3's version
// checks) apply to every ranged read: from S3, whose publish wrote the CAR
// into the bucket, and from nginx, where no CAR can be written and the
// daemon rebuilds the metadata by importing the folder again.
func TestPinThroughPublishOrigin(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	o := startOrigins(t, standardFiles)
	cases := []struct {
		name string
		url  string
		sent func() int64
		// reads is how many times the origin sends the dataset: once, or
		// twice when the metadata is rebuilt by importing again.
		reads int64
	}{
		{"s3", o.s3URL, o.s3.BytesSent, 1},
		{"nginx", o.httpURL, o.nginx.BytesSent, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// No CAR from an earlier publish: this one's, or none.
			if err := os.RemoveAll(filepath.Join(o.dir, origin.MetaDir)); err != nil {
				t.Fatal(err)
			}
			pub := startDaemon(t, Config{AllowOrigins: []string{tc.url}, S3: o.s3Config()})
			root := publish(ctx, t, pub.c, api.PublishRequest{Origin: tc.url, NoStore: true})
			if err := pub.stop(); err != nil {
				t.Fatal(err)
			}
			before := tc.sent()
			d := startDaemon(t, Config{AllowOrigins: []string{tc.url}, S3: o.s3Config()})
			st := mustPin(ctx, t, d.c, root, tc.url)
			sent := tc.sent() - before
			if st.BytesDone != o.dataSize || st.BySource.Origin != o.dataSize {
				t.Errorf("pin status %+v", st)
			}
			if want := tc.reads * o.dataSize; sent < want || sent > want+want/20 {
				t.Errorf("%s sent %d bytes, want about %d", tc.name, sent, want)
			}
			checkAllFiles(ctx, t, d.c, root, o.dir, o.files)
		})
	}
}
