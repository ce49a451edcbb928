package node

import (
	"encoding/binary"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/mesh/exchange"
)

// Bounds for TestMeshUnknownCIDs. The flood is 10,000 requests; state kept
// per request (a goroutine, a buffer, a map entry) would exceed them.
const (
	floodRequests  = 10_000
	floodBatch     = 8
	heapGrowth     = 4 << 20 // bytes of heap in use after the flood, over before
	goroutineSlack = 8
)

// TestMeshUnknownCIDs: a member floods a daemon with requests for blocks it
// does not hold: random CIDs nobody has, mixed with the leaves of a dataset
// the daemon knows and could read from its (reachable) origin. Every one is
// answered DONT_HAVE, the origin is not read once, and the daemon keeps no
// memory or goroutines for the requests once they are answered.
//
// Memory and goroutines are counted over the whole process: the test must
// not run in parallel with others.
func TestMeshUnknownCIDs(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	key := writeKey(t)
	files := []fixtureFile{{"a.bin", 2*mib + 3}, {"b.bin", mib}, {"c.txt", 5000}}
	dir, root := publishFiles(t, files)
	srv := startFaultServer(t, dir, nil)
	d := originMember(t, key, srv.url)
	_, info := daemonInfo(ctx, t, d)

	// The daemon pins the dataset from the origin, then drops its blocks:
	// it keeps the index and the origin, so a read would fetch them again.
	mustPin(ctx, t, d.c, root, srv.url)
	if err := d.c.Unpin(ctx, root); err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.GC(ctx); err != nil {
		t.Fatal(err)
	}
	leaves := leafCIDs(t, dir, files)
	for _, c := range leaves {
		if _, err := d.c.Block(ctx, c); err == nil {
			t.Fatalf("leaf %s still held after unpin and gc", c)
		}
	}
	before, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	originGets := srv.dataGets.Load()

	// Each request: one of the dataset's leaves and random CIDs.
	cids := make([]cid.Cid, 0, floodRequests*floodBatch)
	var seed [8]byte
	for i := range floodRequests * floodBatch {
		if i%floodBatch == 0 {
			cids = append(cids, leaves[(i/floodBatch)%len(leaves)])
			continue
		}
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		c, err := rawPrefix.Sum(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		cids = append(cids, c)
	}

	m := newRogue(t, key)
	client := m.client(exchange.ClientConfig{BatchSize: floodBatch, InFlight: 16})
	if err := m.h.Connect(ctx, info); err != nil {
		t.Fatalf("connect to the daemon: %v", err)
	}
	if !m.auth.WaitAuthenticated(ctx, info.ID) {
		t.Fatal("the member was not authenticated")
	}
	var delivered atomic.Int64
	got := func(blocks.Block) error { delivered.Add(1); return nil }
	// Half the flood names the dataset and leaf indexes, as wants queued
	// at a piece's owner do: the daemon is not pinning it, so those are
	// answered at once too, and never read from the origin.
	flood := func(cids []cid.Cid) {
		t.Helper()
		half := len(cids) / 2
		missing, err := client.Fetch(ctx, info.ID, cids[:half], got)
		if err != nil || len(missing) != half {
			t.Fatalf("fetch %d unknown CIDs: %d missing, %v; want all missing and no error", half, len(missing), err)
		}
		wants := make([]exchange.Want, 0, len(cids)-half)
		for i, c := range cids[half:] {
			wants = append(wants, exchange.Want{CID: c, Leaf: int64(i % 4)})
		}
		missing, err = client.FetchOwned(ctx, info.ID, root, wants, got)
		if err != nil || len(missing) != len(wants) {
			t.Fatalf("fetch %d unknown CIDs of %s: %d missing, %v; want all missing and no error", len(wants), root, len(missing), err)
		}
	}
	// A first round lets lazily built state (buffers, pools, the
	// resource manager's scopes) exist before the baseline.
	warm := 100 * floodBatch
	flood(cids[:warm])

	heap0, goroutines0 := settledHeap(), runtime.NumGoroutine()
	start := time.Now()
	flood(cids)
	took := time.Since(start)
	heap1 := settledHeap()
	// The request list is as live after the flood as before it, so the
	// two measures differ only by what the flood left behind.
	runtime.KeepAlive(cids)
	goroutines1 := waitGoroutines(goroutines0 + goroutineSlack)
	t.Logf("%d requests of %d CIDs in %v; heap in use %d -> %d KiB; goroutines %d -> %d",
		floodRequests, floodBatch, took.Round(time.Millisecond), heap0>>10, heap1>>10, goroutines0, goroutines1)

	if n := delivered.Load(); n != 0 {
		t.Errorf("%d blocks delivered for CIDs the daemon does not hold", n)
	}
	cs := client.Stats()[info.ID]
	if want := int64(len(cids) + warm); cs.DontHave != want || cs.BlocksReceived != 0 || cs.Busy != 0 || cs.Errors != 0 {
		t.Errorf("client's view of the daemon %+v: want %d DONT_HAVE and nothing else", cs, want)
	}
	if n := srv.dataGets.Load() - originGets; n != 0 {
		t.Errorf("the flood cost %d origin reads, want none", n)
	}
	after, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.BytesBySource != before.BytesBySource || !sameOrigins(before.Origins, after.Origins) {
		t.Errorf("bytes fetched changed: by source %+v -> %+v, origins %+v -> %+v", before.BytesBySource, after.BytesBySource, before.Origins, after.Origins)
	}
	if after.Peers == nil || after.Peers.BytesSent != 0 || after.Store.Blocks != before.Store.Blocks {
		t.Errorf("daemon stats %+v, store %+v: want nothing sent to peers and the store unchanged (%d blocks)", after.Peers, after.Store, before.Store.Blocks)
	}
	if heap1 > heap0+heapGrowth {
		t.Errorf("heap in use grew from %d to %d KiB over the flood, more than %d KiB", heap0>>10, heap1>>10, heapGrowth>>10)
	}
	if goroutines1 > goroutines0+goroutineSlack {
		t.Errorf("goroutines: %d before the flood, %d after", goroutines0, goroutines1)
	}
	// The daemon still serves what it holds: the refusals were not a
	// broken server.
	mustPin(ctx, t, d.c, root, srv.url)
	if missing, err := client.Fetch(ctx, info.ID, leaves, got); err != nil || len(missing) != 0 {
		t.Fatalf("fetch the pinned leaves: %d missing, %v", len(missing), err)
	}
}

// leafCIDs lists the raw-leaf CIDs of files under dir (1 MiB chunks, the
// dataset profile's), duplicates removed.
func leafCIDs(t testing.TB, dir string, files []fixtureFile) []cid.Cid {
	t.Helper()
	seen := map[cid.Cid]bool{}
	var out []cid.Cid
	for _, f := range files {
		for off := int64(0); off < f.Size; off += mib {
			c, err := rawPrefix.Sum(fileBytes(t, filepath.Join(dir, filepath.FromSlash(f.Path)), off, min(mib, f.Size-off)))
			if err != nil {
				t.Fatal(err)
			}
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no leaves")
	}
	return out
}

// settledHeap is the heap in use after garbage collection.
func settledHeap() uint64 {
	var ms runtime.MemStats
	for range 2 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// waitGoroutines waits a few seconds for the goroutine count to fall to
// limit (streams wind down after their last answer) and returns it.
func waitGoroutines(limit int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= limit || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sameOrigins(a, b []api.OriginStats) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
