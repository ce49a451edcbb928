package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
)

// corruptBlock flips one byte of the stored leaf holding bytes
// [k MiB, (k+1) MiB) of the fixture's file rel, in place, keeping the
// file's size and times, as silent disk corruption would. It returns the
// block's range in the file as nginx logs it.
func corruptBlock(t *testing.T, fx *fixture, data, rel string, k int64) string {
	t.Helper()
	f, err := os.Open(filepath.Join(fx.dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	leaf := make([]byte, min(mib, fx.files[rel]-k*mib))
	_, err = f.ReadAt(leaf, k*mib)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := blockPath(data, leaf)
	before, err := os.Stat(p)
	if err != nil {
		t.Fatalf("the block %d of %s is not where the store keeps it: %v", k, rel, err)
	}
	bf, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := []byte{0}
	const at = 12345
	if _, err := bf.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := bf.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
	if err := bf.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(p)
	if err != nil || after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("corrupting %s changed its size or mtime: %v -> %v (%v)", p, before, after, err)
	}
	if checkBlockFile(p) == nil {
		t.Fatalf("block file %s still verifies after the flip", p)
	}
	return fmt.Sprintf("bytes=%d-%d", k*mib, k*mib+int64(len(leaf))-1)
}

// checkOneRefetch fails unless nginx logged exactly one request since it
// had logged since requests, a read of wantRange of rel.
func checkOneRefetch(t *testing.T, ng *testenv.Nginx, since int, rel, wantRange string) {
	t.Helper()
	ng.BytesSent() // let the log settle
	reqs := ng.Requests()[since:]
	if len(reqs) != 1 {
		t.Fatalf("origin read %d times after the corruption, want once: %+v", len(reqs), reqs)
	}
	r := reqs[0]
	if !strings.HasSuffix(r.URI, "/"+rel) || r.Range != wantRange || r.Status != 206 || r.BodyBytes != mib {
		t.Fatalf("the origin read was %+v, want the corrupted block: %s of %s", r, wantRange, rel)
	}
}

// checkCorruptCount checks the store's corruption counter in /v1/stats and
// /metrics.
func checkCorruptCount(t *testing.T, cl *api.Client, want int64) {
	t.Helper()
	ctx := context.Background()
	st, err := cl.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Store.Corrupt != want {
		t.Errorf("stats: store.corrupt = %d, want %d", st.Store.Corrupt, want)
	}
	m, err := cl.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("meshcache_store_corrupt_blocks_total %d\n", want)
	if !strings.Contains(string(m), line) {
		t.Errorf("/metrics lacks %q", strings.TrimSpace(line))
	}
}

func quarantined(t *testing.T, data string) int {
	t.Helper()
	q, err := os.ReadDir(filepath.Join(data, "blocks", "quarantine"))
	if err != nil {
		t.Fatal(err)
	}
	return len(q)
}

// pinned starts a daemon on a fresh data directory and pins the fixture
// from nginx through it.
func pinned(t *testing.T, fx *fixture, args ...string) (*testenv.Nginx, *daemon, daemonOpts) {
	t.Helper()
	ng := testenv.StartNginx(t, fx.dir)
	opts := daemonOpts{data: filepath.Join(t.TempDir(), "data"), sock: filepath.Join(socketDir(t), "s"), allow: []string{ng.URL()}, args: args}
	d := startDaemon(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := d.client.Pin(ctx, fx.root, ng.URL()); err != nil {
		t.Fatalf("pin: %v", err)
	}
	if _, err := d.client.WaitPin(ctx, fx.root, 20*time.Millisecond, nil); err != nil {
		t.Fatalf("pin: %v\n%s", err, d.log())
	}
	return ng, d, opts
}

// TestCorruptBlockOnRead: a byte of a stored block flips while the daemon
// is down. After the restart the first read of the block verifies it,
// quarantines it and fetches it again: readers get the origin's bytes,
// never the corrupt ones, the origin is read once for exactly that block,
// and the refetched block is pinned again (a garbage collection keeps it).
func TestCorruptBlockOnRead(t *testing.T) {
	fx := getFixture(t)
	// No scrub: the read must be what finds the block.
	ng, d, opts := pinned(t, fx, "--scrub-interval=-1s")
	if took := d.term(5 * time.Second); took > 3*time.Second {
		t.Errorf("SIGTERM took %v", took)
	}
	const rel = "big/a.bin"
	rng := corruptBlock(t, fx, opts.data, rel, 17)
	since := len(ng.Requests())

	d = startDaemon(t, opts)
	checkFiles(t, d.client, fx)
	checkOneRefetch(t, ng, since, rel, rng)
	checkCorruptCount(t, d.client, 1)
	if n := quarantined(t, opts.data); n != 1 {
		t.Errorf("%d blocks in quarantine, want 1", n)
	}

	ctx := context.Background()
	if _, err := d.client.GC(ctx); err != nil {
		t.Fatal(err)
	}
	checkFiles(t, d.client, fx)
	if n := len(ng.Requests()); n != since+1 {
		t.Errorf("after a garbage collection the dataset was read from the origin again (%d requests): the refetched block was not pinned", n-since-1)
	}
	if st, err := d.client.PinStatus(ctx, fx.root); err != nil || st.State != api.PinPinned {
		t.Errorf("pin after repair: %+v, %v", st, err)
	}
	d.term(5 * time.Second)
}

// TestCorruptBlockScrubRepair: a byte of a stored block of a pinned dataset
// flips while the daemon runs. The scrub finds it with no reader waiting;
// the daemon must fetch it again by itself (once, that block only), so the
// pin stays whole.
func TestCorruptBlockScrubRepair(t *testing.T) {
	fx := getFixture(t)
	ng, d, opts := pinned(t, fx, "--scrub-interval=300ms")
	const rel = "train/shard-004.bin"
	since := len(ng.Requests())
	rng := corruptBlock(t, fx, opts.data, rel, 3)
	leaf := make([]byte, mib)
	f, err := os.Open(filepath.Join(fx.dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	f.ReadAt(leaf, 3*mib)
	f.Close()
	p := blockPath(opts.data, leaf)

	// Nobody reads: the scrub (64 MiB/s by default) must find the block
	// and the daemon must put it back.
	deadline := time.Now().Add(30 * time.Second)
	for checkBlockFile(p) != nil || quarantined(t, opts.data) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the corrupt block was not replaced within 30s (quarantined: %d):\n%s", quarantined(t, opts.data), d.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	checkOneRefetch(t, ng, since, rel, rng)
	checkCorruptCount(t, d.client, 1)
	checkFiles(t, d.client, fx)
	if n := len(ng.Requests()); n != since+1 {
		t.Errorf("reading the repaired dataset read the origin %d more times", n-since-1)
	}
	d.term(5 * time.Second)
}
