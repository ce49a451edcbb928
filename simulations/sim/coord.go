package sim

import (
	"container/heap"

	"github.com/meshcache/meshcache/mesh/policy"
)

// coordinated is meshcache's scheme. In each region every piece's origin
// read is owned by one member (policy ownership over the members that
// want the dataset: started, not dropped from the view); owners read
// their pieces in order, one at a time, and everyone else fetches what has
// landed in the region from its members. A crashed owner's piece stalls
// until the progress timeout drops it from the view, then the next member
// in takeover order resumes it. With global set, a region's owner first
// asks policy.CrossRegion.Decide whether the piece comes from another
// region (a region Table picks which region reads it from the origin).
type coordinated struct {
	*run
	global   bool
	decide   policy.CrossRegion
	regTable *policy.Table
	regionOf []int // region view index → region
	fill     filler

	regs []*coordRegion
	// Per node.
	reading  []int     // piece it reads from the origin, -1 when idle
	queue    []pieceQ  // pieces it owns and has not read
	readRate []float64 // total rate of its reads (origin and other regions)
	rates    []float64 // total rate at which b grows
	caught   []bool    // holds all the region has

	caps     []float64
	idx      []int
	bySource [][]int32 // scratch: a region's remote reads by source region
	cands    []int     // scratch: regions holding a piece
}

// Piece states in a region.
const (
	pieceUnread = iota
	pieceReading
	pieceDone
)

type coordRegion struct {
	own    *regionOwners
	owner  []int32 // per piece: owning node, -1 when no member is in the view
	state  []uint8
	read   []float64 // bytes read so far (kept across takeovers)
	landed []float64 // bytes others can fetch (ModeBlock: whole blocks)
	src    []int8    // per piece being read: srcOrigin or the region it comes from
	orphan []int32   // pieces without an owner
	reader []int32   // per piece being read: the node reading it
	rate   []float64 // per piece being read: its rate
	since  []float64 // per piece being read: when it last moved (or began)
	// stalled[p] has bit q set once a fetch of p from region q made no
	// progress for the progress timeout: q counts as failed for p.
	stalled []uint64
	// reads lists the pieces being read (from the origin or another
	// region). An owner reads one piece at a time from the origin but
	// fetches any number from other regions: a fetch waits on another
	// region, and waiting must not hold up the owner's own origin reads.
	reads  []int32
	done   int     // pieces read
	avail  float64 // bytes of the dataset the region holds (exact once all are done)
	alpha  float64 // how fast avail grows (ModePiece)
	live   int     // members in the view
	supply float64 // upload capacity of live members
}

func newCoordinated(r *run, global bool) *coordinated {
	w := r.w
	n := len(r.nodes)
	s := &coordinated{run: r, global: global, decide: policy.CrossRegion{Global: global},
		reading: make([]int, n), queue: make([]pieceQ, n), readRate: make([]float64, n), rates: make([]float64, n), caught: make([]bool, n)}
	for i := range s.reading {
		s.reading[i] = -1
	}
	s.regTable, s.regionOf = w.regionTable()
	s.bySource = make([][]int32, len(w.regions))
	count := int(w.pieces.Count())
	for _, o := range w.owners() {
		reg := &coordRegion{own: o, owner: make([]int32, count), state: make([]uint8, count), read: make([]float64, count),
			landed: make([]float64, count), src: make([]int8, count), orphan: make([]int32, count), reader: make([]int32, count), rate: make([]float64, count),
			since: make([]float64, count), stalled: make([]uint64, count)}
		for p := range count {
			reg.owner[p], reg.orphan[p] = -1, int32(p)
		}
		s.regs = append(s.regs, reg)
	}
	return s
}

// assign gives piece p of region r to its owner under the current view.
func (s *coordinated) assign(reg *coordRegion, p int) {
	o := reg.own.owner(p, s.inView)
	if o == int(reg.owner[p]) {
		return
	}
	reg.owner[p] = int32(o)
	if o < 0 {
		reg.orphan = append(reg.orphan, int32(p))
		return
	}
	heap.Push(&s.queue[o], int32(p))
}

func (s *coordinated) apply(e event) {
	n := e.node
	reg := s.regs[s.w.nodes[n].region]
	switch e.kind {
	case evStart, evUp:
		if !s.inView(n) {
			return // failed before it started; it never joins
		}
		reg.live++
		// The view gained n: the unread pieces that rank it highly may
		// move to it, and pieces nobody owned get an owner.
		for _, p := range reg.own.pieces[reg.own.viewOf[n]] {
			if reg.state[p] == pieceUnread {
				s.assign(reg, int(p))
			}
		}
		orphans := reg.orphan
		reg.orphan = nil
		for _, p := range orphans {
			if reg.state[p] == pieceUnread && reg.owner[p] < 0 {
				s.assign(reg, int(p))
			}
		}
	case evLeave:
		if !s.nodes[n].started {
			return
		}
		reg.live--
		s.reading[n] = -1
		for k := 0; k < len(reg.reads); k++ {
			p := reg.reads[k]
			if int(reg.reader[p]) != n {
				continue
			}
			// Whole blocks that landed stay in the region; the next
			// owner reads the rest.
			reg.read[p] = reg.landed[p]
			reg.state[p], reg.rate[p] = pieceUnread, 0
			reg.reads[k] = reg.reads[len(reg.reads)-1]
			reg.reads = reg.reads[:len(reg.reads)-1]
			k--
			s.assign(reg, int(p))
		}
		q := s.queue[n]
		s.queue[n] = nil
		for _, p := range q {
			if int(reg.owner[p]) == n && reg.state[p] == pieceUnread {
				s.assign(reg, int(p))
			}
		}
	}
}

// dispatch starts idle owners on their next piece, and asks again where
// a piece comes from when the region it was fetched from has left.
func (s *coordinated) dispatch() {
	if s.global {
		s.redecide()
	}
	for i := range s.nodes {
		if !s.nodes[i].up || !s.inView(i) {
			continue
		}
		r := s.w.nodes[i].region
		reg := s.regs[r]
		for s.queue[i].Len() > 0 {
			p := int(s.queue[i][0])
			if int(reg.owner[p]) != i || reg.state[p] != pieceUnread {
				heap.Pop(&s.queue[i]) // moved on since it was queued
				continue
			}
			src := s.source(r, p)
			if src == srcOrigin && s.reading[i] >= 0 {
				break // one origin read at a time, in dataset order
			}
			heap.Pop(&s.queue[i])
			reg.state[p], reg.reader[p], reg.src[p] = pieceReading, int32(i), int8(src)
			reg.since[p] = s.now
			reg.reads = append(reg.reads, int32(p))
			if src == srcOrigin {
				s.reading[i] = p
			}
		}
	}
}

// pieceQ is a min-heap of piece indexes: owners read in dataset order.
type pieceQ []int32

func (q pieceQ) Len() int           { return len(q) }
func (q pieceQ) Less(i, j int) bool { return q[i] < q[j] }
func (q pieceQ) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *pieceQ) Push(x any)        { *q = append(*q, x.(int32)) }
func (q *pieceQ) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
