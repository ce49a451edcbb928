package prefetch

import (
	"sync"
	"sync/atomic"
)

// leafSet records which wanted leaves arrived; sources may deliver
// concurrently.
type leafSet struct {
	mu   sync.Mutex
	have map[int64]bool
}

func newLeafSet(want []Want) *leafSet {
	return &leafSet{have: make(map[int64]bool, len(want))}
}

func (s *leafSet) mark(leaf int64) {
	s.mu.Lock()
	s.have[leaf] = true
	s.mu.Unlock()
}

func (s *leafSet) missing(want []Want) []Want {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Want
	for _, w := range want {
		if !s.have[w.Leaf] {
			out = append(out, w)
		}
	}
	return out
}

// leafBits is a fixed-size set of leaf indexes, safe for concurrent use:
// one bit per leaf of a dataset.
type leafBits []atomic.Uint64

func newLeafBits(n int64) leafBits { return make(leafBits, (n+63)/64) }

// add puts leaf in the set and reports whether it was absent.
func (b leafBits) add(leaf int64) bool {
	w, bit := &b[leaf/64], uint64(1)<<(leaf%64)
	return w.Or(bit)&bit == 0
}
