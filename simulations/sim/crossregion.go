package sim

import (
	"math"

	"github.com/meshcache/meshcache/mesh/policy"
)

// source is where region r's owner reads piece p from: the origin, or
// another region, as policy.CrossRegion.Decide says. The owner region is
// the region Table's pick among the regions with members in the view,
// less those a fetch of p already stalled on (Takeover).
func (s *coordinated) source(r, p int) int {
	if !s.global {
		return srcOrigin
	}
	w := s.w
	reg := s.regs[r]
	failed := func(q int) bool { return s.regs[q].live == 0 || q < 64 && reg.stalled[p]&(1<<q) != 0 }
	ownerRegion := ""
	if v := s.regTable.TakeoverIndex(int64(p), func(v int) bool { return failed(s.regionOf[v]) }); v >= 0 {
		ownerRegion = w.regions[s.regionOf[v]].name
	}
	s.cands = s.cands[:0]
	for q, other := range s.regs {
		if q != r && other.state[p] == pieceDone && !failed(q) {
			s.cands = append(s.cands, q)
		}
	}
	holder := w.nearestRegion(r, s.cands)
	rp := policy.RemotePiece{LocalRegion: w.regions[r].name, OwnerRegion: ownerRegion, RemoteHolder: holder >= 0}
	switch s.decide.Decide(rp) {
	case policy.SourceRemoteHolder:
		return holder
	case policy.SourceRemoteOwner:
		return w.sc.RegionIndex(ownerRegion)
	}
	return srcOrigin
}

// redecide asks again where a piece comes from when the region it is
// fetched from has left the view, or when the fetch made no progress for
// the progress timeout while that region fetches the piece from another
// region itself (regions that joined at different moments can each pick
// the other as the piece's owner region; the stall breaks the tie).
func (s *coordinated) redecide() {
	timeout := s.w.sc.ProgressTimeout.Seconds()
	for r, reg := range s.regs {
		for _, p := range reg.reads {
			q := int(reg.src[p])
			if q == srcOrigin {
				continue
			}
			stalled := s.waitsOnFetch(q, int(p)) && s.now-reg.since[p] >= timeout
			if s.regs[q].live > 0 && !stalled {
				continue
			}
			if stalled && q < 64 {
				reg.stalled[p] |= 1 << q
			}
			reg.since[p] = s.now
			if reg.src[p] = int8(s.source(r, int(p))); reg.src[p] == srcOrigin {
				// Now an origin read: it takes the owner's origin slot if
				// free, else runs beside it.
				if n := reg.reader[p]; s.reading[n] < 0 {
					s.reading[n] = int(p)
				}
			}
		}
	}
}

// waitsOnFetch reports whether region q gets piece p from yet another
// region rather than reading it: waiting on such a fetch can be waiting on
// oneself, so it is timed out. Waiting on a region that has yet to reach
// the piece in its own order is not.
func (s *coordinated) waitsOnFetch(q, p int) bool {
	return s.regs[q].state[p] == pieceReading && s.regs[q].src[p] != srcOrigin
}

// stallHorizon is the time until the next fetch from another region
// times out, for fetches that are not moving.
func (s *coordinated) stallHorizon() float64 {
	h := math.Inf(1)
	if !s.global {
		return h
	}
	timeout := s.w.sc.ProgressTimeout.Seconds()
	for _, reg := range s.regs {
		for _, p := range reg.reads {
			if q := int(reg.src[p]); q != srcOrigin && reg.rate[p] == 0 && s.waitsOnFetch(q, int(p)) {
				h = min(h, max(reg.since[p]+timeout-s.now, 0))
			}
		}
	}
	return h
}
