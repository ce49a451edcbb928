package prefetch

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/mesh/policy"
)

// splitPlan is a Plan over pieces of two leaves: even pieces are this
// node's; odd ones come from a "peer" that serves the fixture's bytes,
// except that the owner of piece 3 fails after one block, so it becomes
// this node's. The mesh's real plan is tested in node/; this one pins down
// what the manager does with any plan.
type splitPlan struct {
	f *fixture

	mu       sync.Mutex
	tookOver bool
	fetched  []int64 // leaves delivered from the peer
	have     []int64 // leaves the manager said it holds
}

func (p *splitPlan) Join(_ context.Context, root cid.Cid, pieces policy.Pieces) (Plan, error) {
	if root != p.f.root || pieces.PerPiece() != 2 {
		return nil, fmt.Errorf("joined %s with %d blocks a piece", root, pieces.PerPiece())
	}
	return p, nil
}

func (p *splitPlan) Mine(piece int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return piece%2 == 0 || (piece == 3 && p.tookOver)
}

func (p *splitPlan) Fetch(ctx context.Context, piece int64, want []Want, got GotFunc) error {
	for i, w := range want {
		if piece == 3 && i == 1 {
			p.mu.Lock()
			p.tookOver = true
			p.mu.Unlock()
			return fmt.Errorf("owner stalled: %w", ErrMine)
		}
		b, err := verify(w.CID, p.f.leafBytes(w))
		if err != nil {
			return err
		}
		if err := got(w, b); err != nil {
			return err
		}
		p.mu.Lock()
		p.fetched = append(p.fetched, w.Leaf)
		p.mu.Unlock()
	}
	return nil
}

func (p *splitPlan) Have(leaf int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.have = append(p.have, leaf)
}

func (p *splitPlan) Close() {}

// TestManagerFollowsPlan: the manager reads from the origin exactly the
// pieces the plan says are this node's, including one taken over halfway,
// takes the others from the plan, counts every byte once, and answers a
// peer's want of an own piece's block when it lands (and only then).
func TestManagerFollowsPlan(t *testing.T) {
	ctx := testCtx(t)
	const mib = 1 << 20
	f := newFixture(t, map[string]int{"a": 3 * mib, "b": 5 * mib}) // leaves 0-2 and 3-7
	gate := make(chan struct{})
	rec := &recordingOrigin{gate: gate}
	plan := &splitPlan{f: f}
	store := memStore(t)
	m, err := New(Config{Dir: t.TempDir(), Store: store, Open: recorderFor(t, f, rec), Coordinator: plan, PieceBlocks: 2, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	startManager(t, m)
	if _, err := m.Pin(ctx, f.root, f.url); err != nil {
		t.Fatal(err)
	}
	idx := f.index(t)
	all := wants(t, idx)
	waitFor(t, "a held origin read", func() bool { return rec.held.Load() > 0 })

	landed := m.Pending(f.root, 0, all[0].CID)
	if landed == nil {
		t.Fatal("no wait for a block of an own piece")
	}
	for _, tc := range []struct {
		name string
		root cid.Cid
		leaf int64
		c    cid.Cid
	}{
		{"a piece of another owner", f.root, 2, all[2].CID},
		{"a CID that is not the leaf's", f.root, 0, all[1].CID},
		{"a leaf out of range", f.root, 8, all[0].CID},
		{"another dataset", all[0].CID, 0, all[0].CID},
	} {
		if ch := m.Pending(tc.root, tc.leaf, tc.c); ch != nil {
			t.Errorf("%s: the server would wait", tc.name)
		}
	}
	select {
	case <-landed:
		t.Fatal("wait ended before the block landed")
	default:
	}
	close(gate)
	select {
	case <-landed:
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not end when the block landed")
	}
	st, err := m.Wait(ctx, f.root)
	if err != nil || st.State != StatePinned {
		t.Fatalf("pin: %+v, %v", st, err)
	}
	checkHeld(t, f, store)

	originLeaves := map[int64]bool{}
	for _, r := range rec.seen() {
		for _, w := range all {
			if w.File.Path == r.path && w.Offset >= r.off && w.Offset < r.off+r.length {
				originLeaves[w.Leaf] = true
			}
		}
	}
	for leaf, want := range []bool{true, true, false, false, true, true, false, true} {
		if originLeaves[int64(leaf)] != want {
			t.Errorf("leaf %d read from the origin: %v, want %v (origin leaves %v)", leaf, originLeaves[int64(leaf)], want, originLeaves)
		}
	}
	size := func(leaves ...int64) (n int64) {
		for _, l := range leaves {
			n += all[l].Size
		}
		return n
	}
	if st.BytesDone != f.size() || st.BlocksDone != 8 || st.BySource[SourcePeer] != size(2, 3, 6) ||
		st.BySource[SourceOrigin] != size(0, 1, 4, 5, 7) || st.BySource[SourceLocal] != 0 {
		t.Errorf("status %+v: want every byte counted once, peers %d", st, size(2, 3, 6))
	}
	if ch := m.Pending(f.root, 0, all[0].CID); ch != nil {
		t.Error("a finished pin still queues wants")
	}
	plan.mu.Lock()
	have := slices.Sorted(slices.Values(plan.have))
	plan.mu.Unlock()
	if !slices.Equal(have, []int64{0, 1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("plan told of leaves %v, want each leaf once", have)
	}
}
