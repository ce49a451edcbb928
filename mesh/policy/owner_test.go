package policy

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func peers(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("12D3KooWpeer%05d", i)
	}
	return ids
}

// TestWeightGolden pins weights computed by an independent Python
// implementation of the formula in hash.go: a change here moves every
// owner in a running cluster, so it must be a deliberate protocol change.
func TestWeightGolden(t *testing.T) {
	tests := []struct {
		dataset string
		piece   int64
		member  string
		want    uint64
	}{
		{"", 0, "peerA", 0x0e80672b9a0333c3},
		{"dataset", 0, "peerA", 0x7fb89764cbd6e789},
		{"dataset", 1, "peerA", 0x21c0f487c6c938fa},
		{"dataset", 12345, "peerB", 0xaf8f223308c0e62a},
	}
	for _, tt := range tests {
		if got := Weight(tt.dataset, tt.piece, tt.member); got != tt.want {
			t.Errorf("Weight(%q, %d, %q) = %#x, want %#x", tt.dataset, tt.piece, tt.member, got, tt.want)
		}
		tab := NewTable(tt.dataset, NewView(1, []string{tt.member}))
		if got := tab.Weight(tt.piece, 0); got != tt.want {
			t.Errorf("Table.Weight(%q, %d, %q) = %#x, want %#x", tt.dataset, tt.piece, tt.member, got, tt.want)
		}
	}
}

func TestOwnerEmptyAndSingle(t *testing.T) {
	empty := NewTable("ds", View{})
	if empty.Owner(0) != -1 || len(empty.Rank(0, 0, nil)) != 0 {
		t.Fatalf("empty view has an owner")
	}
	if _, ok := empty.OwnerID(0); ok {
		t.Fatalf("empty view has an owner ID")
	}
	one := NewTable("ds", NewView(1, []string{"solo"}))
	for piece := range int64(100) {
		if id, ok := one.OwnerID(piece); !ok || id != "solo" {
			t.Fatalf("piece %d: owner %q %v", piece, id, ok)
		}
	}
	if _, ok := one.Takeover(0, func(string) bool { return true }); ok {
		t.Fatalf("takeover found a live member among failed ones")
	}
}

// TestOwnerIsHighestWeight checks Owner against the definition.
func TestOwnerIsHighestWeight(t *testing.T) {
	ids := peers(37)
	tab := NewTable("root", NewView(1, ids))
	for piece := range int64(500) {
		best, bestID := uint64(0), ""
		for _, id := range ids {
			if w := Weight("root", piece, id); w > best {
				best, bestID = w, id
			}
		}
		if got, _ := tab.OwnerID(piece); got != bestID {
			t.Fatalf("piece %d: owner %s, want %s", piece, got, bestID)
		}
	}
}

// TestOwnerBalance: with N members and P pieces every member owns P/N
// pieces within 5 binomial σ.
func TestOwnerBalance(t *testing.T) {
	for _, n := range []int{2, 7, 64, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			p := int64(300 * n)
			tab := NewTable("bafy-balance", NewView(1, peers(n)))
			count := make([]int, n)
			for piece := range p {
				count[tab.Owner(piece)]++
			}
			mean := float64(p) / float64(n)
			sigma := math.Sqrt(float64(p) * (1 / float64(n)) * (1 - 1/float64(n)))
			for i, c := range count {
				if math.Abs(float64(c)-mean) > 5*sigma {
					t.Errorf("member %d owns %d pieces, want %.0f ± %.0f", i, c, mean, 5*sigma)
				}
			}
		})
	}
}

func ownersOf(tab *Table, p int64) []string {
	out := make([]string, p)
	for piece := range p {
		out[piece], _ = tab.OwnerID(piece)
	}
	return out
}

// TestOwnerMinimalDisruption: removing a member moves only its pieces
// (each to its next-ranked member); adding one moves ≈ P/(N+1) pieces, all
// to the newcomer.
func TestOwnerMinimalDisruption(t *testing.T) {
	const n, p = 40, 20000
	ids := peers(n + 1)
	base := NewView(1, ids[:n])
	before := ownersOf(NewTable("ds", base), p)
	baseTab := NewTable("ds", base)

	gone := ids[13]
	afterRemove := ownersOf(NewTable("ds", base.Apply(nil, []string{gone})), p)
	for piece := range int64(p) {
		if before[piece] != gone && afterRemove[piece] != before[piece] {
			t.Fatalf("piece %d moved from %s to %s when %s left", piece, before[piece], afterRemove[piece], gone)
		}
		if before[piece] == gone {
			next := base.Member(baseTab.Rank(piece, 2, nil)[1])
			if afterRemove[piece] != next {
				t.Fatalf("piece %d of %s went to %s, want next-ranked %s", piece, gone, afterRemove[piece], next)
			}
		}
	}

	added := ids[n]
	afterAdd := ownersOf(NewTable("ds", base.Apply([]string{added}, nil)), p)
	moved := 0
	for piece := range int64(p) {
		if afterAdd[piece] != before[piece] {
			if afterAdd[piece] != added {
				t.Fatalf("piece %d moved from %s to %s, not to the newcomer", piece, before[piece], afterAdd[piece])
			}
			moved++
		}
	}
	q := 1 / float64(n+1)
	mean, sigma := p*q, math.Sqrt(p*q*(1-q))
	if math.Abs(float64(moved)-mean) > 5*sigma {
		t.Fatalf("adding a member moved %d pieces, want %.0f ± %.0f", moved, mean, 5*sigma)
	}
}

// TestOwnerDatasetsIndependent: two datasets over the same members do not
// put the same pieces on the same members (agreement ≈ 1/N).
func TestOwnerDatasetsIndependent(t *testing.T) {
	const n, p = 20, 20000
	v := NewView(1, peers(n))
	a, b := NewTable("dataset-a", v), NewTable("dataset-b", v)
	same := 0
	for piece := range int64(p) {
		if a.Owner(piece) == b.Owner(piece) {
			same++
		}
	}
	q := 1.0 / n
	if mean, sigma := p*q, math.Sqrt(p*q*(1-q)); math.Abs(float64(same)-mean) > 5*sigma {
		t.Fatalf("datasets agree on %d of %d owners, want %.0f ± %.0f", same, p, mean, 5*sigma)
	}
}

// TestRank: the full order is by weight, a top-k is its prefix, Position
// is the place in it, and Owner is its head.
func TestRank(t *testing.T) {
	for _, n := range []int{1, 5, 16, 17, 100} {
		tab := NewTable("rank", NewView(1, peers(n)))
		for piece := range int64(50) {
			all := tab.Rank(piece, 0, nil)
			if len(all) != n {
				t.Fatalf("n %d: Rank has %d members", n, len(all))
			}
			if !slices.IsSortedFunc(all, func(a, b int) int {
				wa, wb := tab.Weight(piece, a), tab.Weight(piece, b)
				if wa > wb {
					return -1
				}
				return 1
			}) {
				t.Fatalf("n %d piece %d: Rank not by descending weight", n, piece)
			}
			if all[0] != tab.Owner(piece) {
				t.Fatalf("n %d piece %d: Rank head %d, owner %d", n, piece, all[0], tab.Owner(piece))
			}
			for pos, i := range all {
				if got := tab.Position(piece, i); got != pos {
					t.Fatalf("n %d piece %d: Position(%d) = %d, want %d", n, piece, i, got, pos)
				}
			}
			for _, k := range []int{1, 3, 16, 17, n} {
				top := tab.Rank(piece, k, []int{-7})
				if top[0] != -7 || !slices.Equal(top[1:], all[:min(k, n)]) {
					t.Fatalf("n %d piece %d: Rank(k=%d) = %v, want prefix %v after dst", n, piece, k, top, all[:min(k, n)])
				}
			}
		}
	}
}

// TestTakeover: takeover never returns a failed member, returns the first
// live member of the ranked order, and equals the owner over the view
// without the failed members, so takeover and a later view agree.
func TestTakeover(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := peers(30)
	v := NewView(7, ids)
	tab := NewTable("takeover", v)
	for trial := range 400 {
		piece := int64(trial)
		failed := map[string]bool{}
		for _, id := range ids {
			if rng.IntN(3) == 0 {
				failed[id] = true
			}
		}
		if trial%50 == 0 { // sometimes everyone fails
			for _, id := range ids {
				failed[id] = true
			}
		}
		got, ok := tab.Takeover(piece, func(id string) bool { return failed[id] })
		var want string
		for _, i := range tab.Rank(piece, 0, nil) {
			if !failed[v.Member(i)] {
				want = v.Member(i)
				break
			}
		}
		if got != want || ok != (want != "") {
			t.Fatalf("trial %d: Takeover = %q %v, want %q", trial, got, ok, want)
		}
		if ok && failed[got] {
			t.Fatalf("trial %d: takeover returned failed member %s", trial, got)
		}
		var gone []string
		for id := range failed {
			gone = append(gone, id)
		}
		smaller, _ := NewTable("takeover", v.Apply(nil, gone)).OwnerID(piece)
		if smaller != got {
			t.Fatalf("trial %d: takeover %q but owner over the smaller view %q", trial, got, smaller)
		}
	}
}

// TestOwnerDeterministic: tables built from the same members in any order,
// at any epoch, give the same owners.
func TestOwnerDeterministic(t *testing.T) {
	ids := peers(50)
	a := NewTable("det", NewView(1, ids))
	shuffled := slices.Clone(ids)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	b := NewTable("det", NewView(99, shuffled))
	if a.View().Digest() != b.View().Digest() {
		t.Fatalf("same members, different digests")
	}
	for piece := range int64(1000) {
		x, _ := a.OwnerID(piece)
		y, _ := b.OwnerID(piece)
		if x != y {
			t.Fatalf("piece %d: owners %s and %s", piece, x, y)
		}
	}
}

// TestOwnerAllocs: the per-piece questions the simulator asks for every
// piece allocate nothing.
func TestOwnerAllocs(t *testing.T) {
	tab := NewTable("allocs", NewView(1, peers(100)))
	failed := func(id string) bool { return id == "12D3KooWpeer00007" }
	dst := make([]int, 0, 16)
	for name, f := range map[string]func(){
		"Owner":    func() { tab.Owner(3) },
		"OwnerID":  func() { tab.OwnerID(3) },
		"Takeover": func() { tab.Takeover(3, failed) },
		"Position": func() { tab.Position(3, 5) },
		"Rank k=8": func() { dst = tab.Rank(3, 8, dst[:0]) },
	} {
		if n := testing.AllocsPerRun(50, f); n != 0 {
			t.Errorf("%s allocates %v times per call", name, n)
		}
	}
}
