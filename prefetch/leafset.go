package prefetch

import "sync"

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
