package sim

import (
	"fmt"
	"math"
)

// uncoordinated is a DHT-style cache without coordination: a node walks
// the dataset in order and fetches each block from a peer that already
// has it (in its region if one does, else from the nearest region that
// does), else from the origin. Nodes that reach the front together all
// miss and all read the origin.
//
// Positions are prefixes (b bytes = blocks [0, b/block)), so a node's
// choice depends only on the fronts: a peer can serve up to its front
// less the block still in flight (all of it once it finished).
type uncoordinated struct {
	*run
	fill filler

	src       []int     // per node: srcOrigin, or the region it fetches from
	rates     []float64 // per node
	front     []float64 // per region: largest b among live nodes
	frontRate []float64 // per region: how fast that front moves
	limit     []float64 // per region: what its nodes can serve
	supply    []float64 // per region: upload capacity of live nodes

	groups    [][]int        // [region*len(regions)+source region]: nodes fetching from peers there
	ranked    map[string]int // (region, candidate regions) → source region
	cands     []int
	originIdx []int
	caps      []float64
}

const srcOrigin = -1

func newUncoordinated(r *run) *uncoordinated {
	n, nr := len(r.nodes), len(r.w.regions)
	return &uncoordinated{run: r, src: make([]int, n), rates: make([]float64, n),
		ranked: map[string]int{}, front: make([]float64, nr), frontRate: make([]float64, nr), limit: make([]float64, nr), supply: make([]float64, nr)}
}

// holds reports whether node i serves blocks: it is up and has begun.
func (s *uncoordinated) holds(i int) bool {
	return s.nodes[i].started && s.nodes[i].up
}

func (s *uncoordinated) recompute() {
	w := s.w
	for r := range w.regions {
		s.front[r], s.supply[r] = 0, 0
	}
	for i := range s.nodes {
		if s.holds(i) {
			r := w.nodes[i].region
			s.front[r] = max(s.front[r], s.nodes[i].b)
			s.supply[r] += w.nodes[i].nic
		}
	}
	for r := range w.regions {
		s.limit[r] = s.front[r]
		if s.front[r] < w.size-eps {
			s.limit[r] = max(0, s.front[r]-w.block)
		}
		s.supply[r] = min(s.supply[r], w.regions[r].fabric)
	}
	// Sources.
	for i := range s.nodes {
		s.rates[i] = 0
		if !s.active(i) {
			continue
		}
		b, r := s.nodes[i].b, w.nodes[i].region
		s.src[i] = srcOrigin
		if b < s.limit[r]-eps {
			s.src[i] = r
			continue
		}
		s.cands = s.cands[:0]
		for q := range w.regions {
			if q != r && b < s.limit[q]-eps {
				s.cands = append(s.cands, q)
			}
		}
		if len(s.cands) > 0 {
			s.src[i] = s.remoteSource(r, s.cands)
		}
	}
	// Origin readers share the origin; remote fetches share their link;
	// in-region fetches share the region's upload capacity.
	nr := len(w.regions)
	if len(s.groups) != nr*(nr+1) {
		s.groups = make([][]int, nr*(nr+1))
	}
	for g := range s.groups {
		s.groups[g] = s.groups[g][:0]
	}
	s.originIdx = s.originIdx[:0]
	for i := range s.nodes {
		if !s.active(i) {
			continue
		}
		if s.src[i] == srcOrigin {
			s.originIdx = append(s.originIdx, i)
			continue
		}
		g := w.nodes[i].region*nr + s.src[i]
		s.groups[g] = append(s.groups[g], i)
	}
	s.share(w.origin, s.originIdx)
	for r := range nr {
		for q := range nr {
			c := s.supply[r]
			if q != r {
				c = w.linkCap(r, q)
			}
			s.share(c, s.groups[r*nr+q])
		}
	}
	for r := range w.regions {
		s.frontRate[r] = 0
	}
	for i := range s.nodes {
		if r := w.nodes[i].region; s.holds(i) && s.nodes[i].b >= s.front[r]-eps {
			s.frontRate[r] = max(s.frontRate[r], s.rates[i])
		}
	}
}

// share gives nodes max-min fair rates under capacity c, capped by their
// NICs.
func (s *uncoordinated) share(c float64, nodes []int) {
	s.caps = s.caps[:0]
	for _, i := range nodes {
		s.caps = append(s.caps, s.w.nodes[i].nic)
	}
	lvl := s.fill.level(c, s.caps)
	for k, i := range nodes {
		s.rates[i] = min(s.caps[k], lvl)
	}
}

// remoteSource is the region that region r fetches from when the
// candidates hold the next block: policy.RankHolders' first. The ranking
// depends on nothing else (RTTs are fixed, nothing is random), so each
// (region, candidates) pair is ranked once per run.
func (s *uncoordinated) remoteSource(r int, cands []int) int {
	key := fmt.Sprint(r, cands)
	if q, ok := s.ranked[key]; ok {
		return q
	}
	q := s.w.nearestRegion(r, cands)
	s.ranked[key] = q
	return q
}

func (s *uncoordinated) horizon() float64 {
	h := math.Inf(1)
	for i := range s.nodes {
		if !s.active(i) {
			continue
		}
		b, rate := s.nodes[i].b, s.rates[i]
		h = min(h, horizonTo(b, s.w.size, rate))
		if q := s.src[i]; q != srcOrigin {
			// Catching up with the peers it fetches from: aim past the
			// threshold (limit-eps) so the step is never lost to rounding.
			h = min(h, horizonTo(b, s.limit[q]-eps/2, rate-s.frontRate[q]))
			continue
		}
		// An origin reader falls behind a faster front and turns to
		// peers once they hold the block it is reading.
		for q := range s.w.regions {
			if s.frontRate[q] > rate && s.front[q] < s.w.size-eps {
				// Past b+eps it serves the block this node reads; 2·eps
				// keeps the step from being empty at the boundary.
				h = min(h, horizonTo(s.limit[q], b+2*eps, s.frontRate[q]-rate))
			}
		}
	}
	return h
}

func (s *uncoordinated) quantum() float64 { return s.w.quantum }

func (s *uncoordinated) advance(dt float64) {
	w := s.w
	for i := range s.nodes {
		if !s.active(i) || s.rates[i] == 0 {
			continue
		}
		b, r, q := s.nodes[i].b, w.nodes[i].region, s.src[i]
		if q == srcOrigin {
			d := min(s.rates[i]*dt, w.size-b)
			s.nodes[i].b += d
			s.originBytes[r] += d
			continue
		}
		// A fetch from peers stops where its source's front is at the end
		// of the step (it binds only in quantized steps).
		bound := min(s.limit[q]+s.frontRate[q]*dt, w.size)
		d := max(0, min(s.rates[i]*dt, bound-b))
		s.nodes[i].b += d
		if q != r {
			s.crossBytes += d
		}
	}
}

func (s *uncoordinated) settle() {
	for i := range s.nodes {
		if s.active(i) && s.nodes[i].b >= s.w.size-eps {
			s.finish(i)
		}
	}
}

func (s *uncoordinated) apply(event) {}
