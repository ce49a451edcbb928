package storetest

import (
	"context"
	"errors"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/meshcache/meshcache/blockstore"
)

// only returns the blocks of a that are not in b.
func only(a, b dag) []blocks.Block {
	inB := map[string]bool{}
	for _, x := range b.blocks {
		inB[string(x.Cid().Hash())] = true
	}
	var out []blocks.Block
	for _, x := range a.blocks {
		if !inB[string(x.Cid().Hash())] {
			out = append(out, x)
		}
	}
	return out
}

func mustGC(t *testing.T, s blockstore.Store, wantBlocks int) {
	t.Helper()
	res, err := s.GC(context.Background())
	if err != nil {
		t.Fatalf("gc: %v", err)
	}
	if res.BlocksRemoved != int64(wantBlocks) {
		t.Fatalf("gc removed %d blocks, want %d", res.BlocksRemoved, wantBlocks)
	}
}

// testPinsAndGC: GC keeps exactly what the pinned roots reach through
// dag-pb, including leaves two files share.
func testPinsAndGC(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 0)
	rng := newRNG(t)
	shared := randBytes(rng, 4096)
	a := buildDAG(t, append(append(randBytes(rng, 40<<10), shared...), randBytes(rng, 9000)...), 4096, 3)
	b := buildDAG(t, append(append(randBytes(rng, 32<<10), shared...), randBytes(rng, 100)...), 4096, 3)
	loose := []blocks.Block{RandBlock(t, rng, 77), RandBlock(t, rng, 5000)}
	mustPut(t, s, a.blocks...)
	mustPut(t, s, b.blocks...)
	mustPut(t, s, loose...)
	if len(only(a, b)) == len(a.blocks) {
		t.Fatal("test DAGs share no block")
	}
	if err := s.Pin(ctx, a.root, a.size); err != nil {
		t.Fatalf("pin: %v", err)
	}
	mustGC(t, s, len(only(b, a))+len(loose))
	mustHave(t, s, true, a.blocks...)
	mustHave(t, s, false, only(b, a)...)
	mustHave(t, s, false, loose...)
	pins, err := s.Pins(ctx)
	if err != nil || len(pins) != 1 || !pins[0].Root.Equals(a.root) || pins[0].Size != a.size {
		t.Fatalf("pins = %v, %v; want [%s %d]", pins, err, a.root, a.size)
	}
	mustPut(t, s, b.blocks...)
	if err := s.Pin(ctx, b.root, b.size); err != nil {
		t.Fatal(err)
	}
	if err := s.Unpin(ctx, a.root); err != nil {
		t.Fatalf("unpin: %v", err)
	}
	mustGC(t, s, len(only(a, b)))
	mustHave(t, s, true, b.blocks...)
	mustHave(t, s, false, only(a, b)...)
	if err := s.Unpin(ctx, b.root); err != nil {
		t.Fatal(err)
	}
	mustGC(t, s, len(b.blocks))
	if st := stats(t, s); st.Blocks != 0 || st.Bytes != 0 || st.PinnedBytes != 0 {
		t.Fatalf("stats after everything is collected: %+v", st)
	}
}

// testPinBeforeBlocks: a root pinned before its blocks arrive protects them
// as they arrive. Root first (as a fetcher walks a DAG), every block is
// protected the moment it lands; leaves first (as the importer writes),
// they are protected once the nodes linking them arrive.
func testPinBeforeBlocks(t *testing.T, newStore NewStore) {
	orders := []struct {
		name     string
		order    func(d dag) []blocks.Block
		gcMidway bool
	}{
		{"leaves first", func(d dag) []blocks.Block { return d.blocks }, false},
		{"root first", func(d dag) []blocks.Block {
			out := make([]blocks.Block, len(d.blocks))
			for i, b := range d.blocks {
				out[len(out)-1-i] = b
			}
			return out
		}, true},
	}
	for _, o := range orders {
		name, order := o.name, o.order
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t, 0)
			rng := newRNG(t)
			d := buildDAG(t, randBytes(rng, 50<<10), 2048, 4)
			if err := s.Pin(ctx, d.root, d.size); err != nil {
				t.Fatal(err)
			}
			for i, b := range order(d) {
				mustPut(t, s, b)
				if o.gcMidway && i == len(d.blocks)/2 {
					mustGC(t, s, 0)
				}
			}
			stray := RandBlock(t, rng, 100)
			mustPut(t, s, stray)
			mustGC(t, s, 1)
			mustHave(t, s, true, d.blocks...)
		})
	}
}

func testPinTooLarge(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	const capacity = 1 << 20
	s := newStore(t, capacity)
	rng := newRNG(t)
	r1, r2 := RandBlock(t, rng, 10).Cid(), RandBlock(t, rng, 10).Cid()
	if err := s.Pin(ctx, r1, 600<<10); err != nil {
		t.Fatal(err)
	}
	if err := s.Pin(ctx, r2, 500<<10); !errors.Is(err, blockstore.ErrPinTooLarge) {
		t.Fatalf("pin beyond capacity: %v, want ErrPinTooLarge", err)
	}
	if pins, _ := s.Pins(ctx); len(pins) != 1 {
		t.Fatalf("refused pin was recorded: %v", pins)
	}
	if err := s.Pin(ctx, r1, 400<<10); err != nil {
		t.Fatalf("shrinking a pin: %v", err)
	}
	if err := s.Pin(ctx, r2, 500<<10); err != nil {
		t.Fatalf("pin that now fits: %v", err)
	}
	if st := stats(t, s); st.PinnedBytes != 900<<10 || st.Capacity != capacity {
		t.Fatalf("stats %+v, want 900 KiB pinned of %d", st, capacity)
	}
	unlimited := newStore(t, 0)
	if err := unlimited.Pin(ctx, r1, 1<<50); err != nil {
		t.Fatalf("pin in unlimited store: %v", err)
	}
}

func testUnpinUnknown(t *testing.T, newStore NewStore) {
	s := newStore(t, 0)
	err := s.Unpin(context.Background(), RandBlock(t, newRNG(t), 1).Cid())
	if !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("unpin of an unpinned root: %v, want ErrNotFound", err)
	}
}

// testEvictionKeepsPinned: unpinned blocks flowing through a small store
// evict each other, never the pinned DAG, and usage stays within capacity.
func testEvictionKeepsPinned(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	const capacity = 256 << 10
	s := newStore(t, capacity)
	rng := newRNG(t)
	d := buildDAG(t, randBytes(rng, 100<<10), 4096, 8)
	if err := s.Pin(ctx, d.root, d.size); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, d.blocks...)
	var last blocks.Block
	for i := range 300 {
		last = RandBlock(t, rng, 4096)
		mustPut(t, s, last)
		if i%7 == 0 {
			mustGet(t, s, last)
		}
		if st := stats(t, s); st.Bytes > capacity {
			t.Fatalf("usage %d above capacity %d", st.Bytes, capacity)
		}
	}
	mustHave(t, s, true, d.blocks...)
	mustHave(t, s, true, last)
	st := stats(t, s)
	if st.Evicted == 0 || st.EvictedBytes < 100<<10 {
		t.Fatalf("nothing evicted: %+v", st)
	}
	for _, b := range d.blocks {
		mustGet(t, s, b)
	}
}

// testFullOfPinned: when only pinned blocks are left, an unpinned block
// that does not fit is refused with ErrNoSpace, and the store recovers
// once the pin is gone.
func testFullOfPinned(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	const capacity = 64 << 10
	s := newStore(t, capacity)
	rng := newRNG(t)
	d := buildDAG(t, randBytes(rng, 56<<10), 4096, 8)
	if d.size > capacity {
		t.Fatalf("test DAG of %d bytes does not fit %d", d.size, capacity)
	}
	if err := s.Pin(ctx, d.root, capacity); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, d.blocks...)
	free := capacity - stats(t, s).Bytes
	big := RandBlock(t, rng, int(free)+1)
	if err := s.Put(ctx, big); !errors.Is(err, blockstore.ErrNoSpace) {
		t.Fatalf("put into a store full of pinned blocks: %v, want ErrNoSpace", err)
	}
	mustHave(t, s, false, big)
	mustHave(t, s, true, d.blocks...)
	small := RandBlock(t, rng, int(free))
	mustPut(t, s, small)
	if err := s.Unpin(ctx, d.root); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, big)
	mustGet(t, s, big)
	if st := stats(t, s); st.Bytes > capacity {
		t.Fatalf("usage %d above capacity", st.Bytes)
	}
}
