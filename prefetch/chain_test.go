package prefetch

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// fakeSource delivers the leaves it holds (verified, like a real source)
// and fails with err for the rest, or always when err is set.
type fakeSource struct {
	name  string
	f     *fixture
	holds func(Want) bool
	err   error

	mu    sync.Mutex
	asked [][]int64
}

func (s *fakeSource) Name() string { return s.name }

func (s *fakeSource) Fetch(ctx context.Context, want []Want, got GotFunc) error {
	var leaves []int64
	for _, w := range want {
		leaves = append(leaves, w.Leaf)
	}
	s.mu.Lock()
	s.asked = append(s.asked, leaves)
	s.mu.Unlock()
	missing := 0
	for _, w := range want {
		if !s.holds(w) {
			missing++
			continue
		}
		b, err := verify(w.CID, s.f.leafBytes(w))
		if err != nil {
			return err
		}
		if err := got(w, b); err != nil {
			return err
		}
	}
	if s.err != nil {
		return s.err
	}
	if missing > 0 {
		return errors.New(s.name + " lacks some")
	}
	return nil
}

func TestChainFallsBackInOrder(t *testing.T) {
	f := newFixture(t, testFiles)
	all := wants(t, f.index(t))
	even := func(w Want) bool { return w.Leaf%2 == 0 }
	cases := []struct {
		name       string
		sources    []*fakeSource
		wantErr    string
		wantAsked  [][]int // leaves each source was asked for (first call)
		wantByName map[string]int64
	}{
		{
			name:      "first source has everything",
			sources:   []*fakeSource{{name: SourcePeer, holds: func(Want) bool { return true }}, {name: SourceOrigin, holds: func(Want) bool { return true }}},
			wantAsked: [][]int{{0, 1, 2, 3, 4, 5}, nil},
		},
		{
			name:      "second source gets only what the first lacked",
			sources:   []*fakeSource{{name: SourcePeer, holds: even}, {name: SourceOrigin, holds: func(Want) bool { return true }}},
			wantAsked: [][]int{{0, 1, 2, 3, 4, 5}, {1, 3, 5}},
		},
		{
			name:      "a failing source still counts what it delivered",
			sources:   []*fakeSource{{name: SourcePeer, holds: even, err: errors.New("peer gone")}, {name: SourceOrigin, holds: func(Want) bool { return true }}},
			wantAsked: [][]int{{0, 1, 2, 3, 4, 5}, {1, 3, 5}},
		},
		{
			name:      "nobody has some",
			sources:   []*fakeSource{{name: SourcePeer, holds: func(w Want) bool { return w.Leaf < 2 }}, {name: SourceOrigin, holds: even, err: errors.New("origin down")}},
			wantErr:   "fetch 2 blocks",
			wantAsked: [][]int{{0, 1, 2, 3, 4, 5}, {2, 3, 4, 5}},
		},
	}
	// a.bin has 4 leaves, b/c.bin and "b/d/e f.txt" one each; an empty
	// file has none.
	if len(all) != 6 {
		t.Fatalf("fixture has %d leaves, the table assumes 6", len(all))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srcs := make([]Source, len(tc.sources))
			for i, s := range tc.sources {
				s.f = f
				srcs[i] = s
			}
			c := NewChain(srcs...)
			var mu sync.Mutex
			got := map[cid.Cid]int{}
			by := map[string]int64{}
			err := c.Fetch(context.Background(), all, func(w Want, b blocks.Block) error {
				mu.Lock()
				got[b.Cid()]++
				mu.Unlock()
				return nil
			}, func(name string, n int64) { by[name] += n })
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("fetch: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "origin down")):
				t.Fatalf("fetch: %v, want %q and the last source's error", err, tc.wantErr)
			}
			for i, s := range tc.sources {
				var first []int
				if len(s.asked) > 0 {
					for _, l := range s.asked[0] {
						first = append(first, int(l))
					}
				}
				if len(s.asked) > 1 || !equalInts(first, tc.wantAsked[i]) {
					t.Errorf("%s asked %v, want once for %v", s.name, s.asked, tc.wantAsked[i])
				}
			}
			var total int64
			for _, w := range all {
				if got[w.CID] > 1 {
					t.Errorf("leaf %d delivered %d times", w.Leaf, got[w.CID])
				}
				if got[w.CID] == 1 {
					total += w.Size
				}
			}
			if sum := by[SourcePeer] + by[SourceOrigin]; sum != total {
				t.Errorf("bytes by source %v add up to %d, delivered %d", by, sum, total)
			}
			if cb := c.Bytes(); cb[SourcePeer] != by[SourcePeer] || cb[SourceOrigin] != by[SourceOrigin] {
				t.Errorf("chain counts %v, callback %v", cb, by)
			}
		})
	}
}

// TestChainStopsWhenStoreFails: an error from got (the store cannot keep a
// block) ends the fetch with that error, and no later source is asked.
func TestChainStopsWhenStoreFails(t *testing.T) {
	f := newFixture(t, testFiles)
	all := wants(t, f.index(t))
	full := errors.New("disk full")
	peer := &fakeSource{name: SourcePeer, f: f, holds: func(Want) bool { return true }}
	org := &fakeSource{name: SourceOrigin, f: f, holds: func(Want) bool { return true }}
	err := NewChain(peer, org).Fetch(context.Background(), all, func(Want, blocks.Block) error { return full }, nil)
	if !errors.Is(err, full) {
		t.Fatalf("fetch with a failing store: %v, want %v", err, full)
	}
	// Asking the origin for blocks the store cannot keep would read the
	// origin for nothing.
	if len(org.asked) != 0 {
		t.Errorf("the origin was asked for %v after the store failed", org.asked)
	}
}

func equalInts(a, b []int) bool {
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
