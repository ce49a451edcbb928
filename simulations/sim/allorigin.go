package sim

import "math"

// allOrigin: every node streams the whole dataset from the origin, which
// shares its bandwidth max-min fairly among them.
type allOrigin struct {
	*run
	fill  filler
	idx   []int
	caps  []float64
	rates []float64 // per node
}

func newAllOrigin(r *run) *allOrigin {
	return &allOrigin{run: r, rates: make([]float64, len(r.nodes))}
}

func (s *allOrigin) recompute() {
	s.idx, s.caps = s.idx[:0], s.caps[:0]
	for i := range s.nodes {
		s.rates[i] = 0
		if s.active(i) {
			s.idx = append(s.idx, i)
			s.caps = append(s.caps, s.w.nodes[i].nic)
		}
	}
	lvl := s.fill.level(s.w.origin, s.caps)
	for k, i := range s.idx {
		s.rates[i] = min(s.caps[k], lvl)
	}
}

func (s *allOrigin) horizon() float64 {
	h := math.Inf(1)
	for _, i := range s.idx {
		h = min(h, horizonTo(s.nodes[i].b, s.w.size, s.rates[i]))
	}
	return h
}

func (s *allOrigin) advance(dt float64) {
	for _, i := range s.idx {
		s.nodes[i].b = min(s.nodes[i].b+s.rates[i]*dt, s.w.size)
	}
}

func (s *allOrigin) settle() {
	for _, i := range s.idx {
		if n := &s.nodes[i]; n.b >= s.w.size-eps && !n.finished {
			s.finish(i)
		}
	}
}

func (s *allOrigin) apply(event) {}

func (s *allOrigin) quantum() float64 { return s.w.quantum }

// finalize counts origin bytes: every byte a node holds came from the
// origin (summed once, at the end, so whole datasets add up exactly).
func (s *allOrigin) finalize() {
	for i, n := range s.nodes {
		s.originBytes[s.w.nodes[i].region] += n.b
	}
}
