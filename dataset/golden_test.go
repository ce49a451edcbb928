package dataset

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/dataset/internal/fixture"
)

// golden are the root CIDs IPFS Kubo v0.43.0 gives the fixtures with the
// unixfs-v1-2025 profile. Produced with Kubo built from source
// (go mod download github.com/ipfs/kubo@v0.43.0; go build ./cmd/ipfs):
//
//	IPFS_PATH=/tmp/kuborepo ipfs init --profile=test,unixfs-v1-2025
//	go run ./dataset/internal/fixture/mkfixtures -large /tmp/fixtures
//	ipfs add -r -Q --offline --hidden /tmp/fixtures/<path printed by mkfixtures>
//
// (--hidden because a dataset includes dot files; Kubo skips them by default.)
var golden = map[string]string{
	"empty-file":    "bafybeigalvxqcgqiogiv6bimmxedgxbhu7cikwhwha2c2iqzdbnabewjai",
	"small":         "bafybeibrw4gudicgg2hcwrmii7av45ple7ooz4bd3bvbp56o3i5gesma3u",
	"exact-block":   "bafybeig6klkxif5laaw2zsultl7dhu4g7pedemhm5hphy7v7ccpmjuqzii",
	"uneven":        "bafybeieynwi6jjxddzskrtuv3ugdqfsfu5cdcvuj6wcniokbzouovelwuy",
	"nested":        "bafybeifkgliizq4jbccsjlcoazdczhbd3ek5pot2vgaxatja7w5zdn7v3i",
	"hamt":          "bafybeie6ryksnnysorlhaue5dfiqrcnbdvh2mhq6hpvx3jyngwzkaz6zca",
	"tiny-single":   "bafkreidtdii7kx2ypafxj3r73yhtz6j4sfb6hf6bvrzsduugz3i5sfgpim",
	"uneven-single": "bafybeidyqizcitiefcfyh2kkx4ezpw4xko7q7nwo5kpcu7qjzthvr2bhli",
	"large-single":  "bafybeicmnt6s7noeluom7xtcq4iibmnjwgzae7vsk77g3tkkwt3567okvq",
}

func goldenRoot(t testing.TB, name string) cid.Cid {
	t.Helper()
	s, ok := golden[name]
	if !ok {
		t.Fatalf("no golden CID for fixture %q", name)
	}
	return cid.MustParse(s)
}

// setProcs sets GOMAXPROCS for the rest of the test.
func setProcs(t *testing.T, n int) {
	prev := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// TestPublishGolden publishes every fixture under several scheduling
// settings; the root must be Kubo's whatever the parallelism.
func TestPublishGolden(t *testing.T) {
	configs := []struct {
		procs, workers, readers int
		window                  int64
		noStore                 bool // leaves' buffers are reused
	}{
		{procs: 1, workers: 1, readers: 1},
		{procs: 2, workers: 2},
		{procs: 2, workers: 4, readers: 1, noStore: true},
		{procs: 1, workers: 3, readers: 8, window: minWindow(ChunkSize / 2), noStore: true},
	}
	for _, c := range fixture.Cases() {
		o := sharedCase(t, c)
		want := goldenRoot(t, c.Name)
		for _, cfg := range configs {
			t.Run(fmt.Sprintf("%s/procs=%d/workers=%d/readers=%d/nostore=%v", c.Name, cfg.procs, cfg.workers, cfg.readers, cfg.noStore), func(t *testing.T) {
				setProcs(t, cfg.procs)
				opts := PublishOptions{Store: newMemStore(), Workers: cfg.workers, Readers: cfg.readers, Window: cfg.window, NoStore: cfg.noStore}
				if cfg.window != 0 {
					opts.BatchBytes = ChunkSize / 2
				}
				imp := importForTest(t, o, opts)
				if !imp.root.Equals(want) {
					t.Fatalf("root %s, Kubo gives %s", imp.root, want)
				}
				if imp.fallbackSums != 0 {
					t.Fatalf("%d leaves were hashed by the importer, not the workers", imp.fallbackSums)
				}
			})
		}
	}
}

// TestPublishLargeGolden imports a file of 1025 blocks (a two-level file
// DAG) once, without storing leaves, then indexes it from the metadata alone.
func TestPublishLargeGolden(t *testing.T) {
	c := fixture.Large()
	bs := newMemStore()
	res, err := Publish(t.Context(), &genOrigin{c: c, mtime: time.Unix(1700000000, 0)}, PublishOptions{Store: bs, NoStore: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := goldenRoot(t, c.Name); !res.Root.Equals(want) {
		t.Fatalf("root %s, Kubo gives %s", res.Root, want)
	}
	// balanced layout: a root over a full node of 1024 leaves and a node of one.
	if len(res.MetadataBlocks) != 3 || !res.MetadataBlocks[2].Equals(res.Root) {
		t.Fatalf("metadata blocks %v, want 3 with the root last", res.MetadataBlocks)
	}
	assertStoreHolds(t, bs, res.MetadataBlocks)
	ix, err := BuildIndex(t.Context(), t.TempDir(), res.Record, bs.Get)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if ix.NumLeaves() != 1025 {
		t.Fatalf("%d leaves, want 1025", ix.NumLeaves())
	}
	content := fixture.NewContent(c.Files[0])
	for _, i := range []int64{0, 1, 1023, 1024} {
		l, err := ix.Leaf(i)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, l.Size)
		content.ReadAt(buf, l.Offset)
		want, _ := rawPrefix.Sum(buf)
		if l.Offset != i*ChunkSize || l.Size != ChunkSize || !l.CID.Equals(want) {
			t.Fatalf("leaf %d = %+v, want offset %d size %d CID %s", i, l, i*ChunkSize, ChunkSize, want)
		}
	}
}

// importForTest runs the import pipeline without the CAR step, returning
// the importer so tests can see how leaves were hashed.
func importForTest(t *testing.T, o *dirOrigin, opts PublishOptions) *importer {
	t.Helper()
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	opts = opts.withDefaults()
	files, total, err := publishListing(t.Context(), o, opts.Logger)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := runImport(context.Background(), o, files, total, opts)
	if err != nil {
		t.Fatal(err)
	}
	return imp
}
