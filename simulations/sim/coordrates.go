package sim

import "math"

// recompute sets every rate: origin reads share the origin, remote reads
// share their link and cannot pass what their source region has landed,
// and in each region the members' upload capacity is shared among the
// members still missing bytes that have landed.
func (s *coordinated) recompute() {
	s.dispatch()
	w := s.w
	for r, reg := range s.regs {
		reg.alpha, reg.supply = 0, 0
		for _, n := range w.regions[r].members {
			s.readRate[n], s.rates[n] = 0, 0
			if s.nodes[n].started && s.nodes[n].up {
				reg.supply += w.nodes[n].nic
			}
		}
		reg.supply = min(reg.supply, w.regions[r].fabric)
		for _, p := range reg.reads {
			reg.rate[p] = 0
		}
	}
	// Origin reads.
	s.idx, s.caps = s.idx[:0], s.caps[:0]
	for r, reg := range s.regs {
		for _, p := range reg.reads {
			if n := int(reg.reader[p]); reg.src[p] == srcOrigin && s.nodes[n].up {
				s.idx = append(s.idx, r, int(p))
				s.caps = append(s.caps, w.nodes[n].nic)
			}
		}
	}
	s.shareReads(w.origin)
	// Remote reads, link by link; their source is an origin read or a
	// finished piece, so origin rates are already known.
	if s.global {
		for r, reg := range s.regs {
			for q := range s.bySource {
				s.bySource[q] = s.bySource[q][:0]
			}
			for _, p := range reg.reads {
				if q := reg.src[p]; q != srcOrigin {
					s.bySource[q] = append(s.bySource[q], p)
				}
			}
			for q := range s.regs {
				if q != r {
					s.remoteReads(r, q, s.bySource[q])
				}
			}
		}
	}
	for r, reg := range s.regs {
		for _, p := range reg.reads {
			s.readRate[reg.reader[p]] += reg.rate[p]
		}
		s.swarm(r)
	}
}

// shareReads gives the reads in s.idx (region, piece pairs) their max-min
// share of capacity c.
func (s *coordinated) shareReads(c float64) {
	lvl := s.fill.level(c, s.caps)
	for k := range s.caps {
		s.regs[s.idx[2*k]].rate[s.idx[2*k+1]] = min(s.caps[k], lvl)
	}
}

// sourceLanded is what region q has of piece p for another region to
// fetch, and how fast that grows.
func (s *coordinated) sourceLanded(q, p int) (float64, float64) {
	reg := s.regs[q]
	if reg.state[p] == pieceDone {
		return s.w.pieceBytes[p], 0
	}
	rate := 0.0
	if s.w.mode == ModePiece && reg.state[p] == pieceReading {
		rate = reg.rate[p]
	}
	return reg.landed[p], rate
}

func (s *coordinated) remoteReads(r, q int, pieces []int32) {
	w := s.w
	reg := s.regs[r]
	s.idx, s.caps = s.idx[:0], s.caps[:0]
	for _, p32 := range pieces {
		p, n := int(p32), int(reg.reader[p32])
		if !s.nodes[n].up {
			continue
		}
		cap := w.nodes[n].nic
		if have, rate := s.sourceLanded(q, p); reg.read[p] >= have-eps {
			cap = min(cap, rate) // caught up: as fast as it lands there
		}
		if s.regs[q].supply == 0 {
			cap = 0 // nobody there is up; dispatch asks again once the view drops them
		}
		s.idx = append(s.idx, r, p)
		s.caps = append(s.caps, cap)
	}
	s.shareReads(w.linkCap(r, q))
}

// swarm shares region r's upload capacity among its members.
func (s *coordinated) swarm(r int) {
	w := s.w
	reg := s.regs[r]
	if w.mode == ModePiece {
		for _, p := range reg.reads {
			reg.alpha += reg.rate[p]
		}
	}
	s.idx, s.caps = s.idx[:0], s.caps[:0]
	for _, n := range w.regions[r].members {
		if !s.active(n) {
			continue
		}
		own := s.readRate[n]
		s.caught[n] = s.nodes[n].b >= reg.avail-eps
		cap := w.nodes[n].nic - own
		if s.caught[n] {
			cap = reg.alpha - own
		}
		s.idx = append(s.idx, n)
		s.caps = append(s.caps, max(cap, 0))
	}
	lvl := s.fill.level(reg.supply, s.caps)
	for k, n := range s.idx {
		s.rates[n] = min(s.caps[k], lvl)
		if w.mode == ModePiece {
			s.rates[n] += s.readRate[n] // its own reads land in its store as they arrive
		}
	}
}

func (s *coordinated) horizon() float64 {
	w := s.w
	h := s.stallHorizon()
	for r, reg := range s.regs {
		for _, p32 := range reg.reads {
			p := int(p32)
			rate := reg.rate[p]
			if rate <= 0 {
				continue
			}
			next := w.pieceBytes[p]
			if w.mode == ModeBlock {
				next = min(next, (math.Floor((reg.read[p]+eps)/w.block)+1)*w.block)
			}
			h = min(h, horizonTo(reg.read[p], next, rate))
			if q := int(reg.src[p]); q != srcOrigin {
				if have, srcRate := s.sourceLanded(q, p); reg.read[p] < have-eps {
					h = min(h, horizonTo(reg.read[p], have, rate-srcRate))
				}
			}
		}
		for _, n := range w.regions[r].members {
			if s.active(n) && !s.caught[n] {
				h = min(h, horizonTo(s.nodes[n].b, reg.avail, s.rates[n]-reg.alpha))
			}
		}
	}
	return h
}

func (s *coordinated) quantum() float64 { return s.w.quantum }

func (s *coordinated) advance(dt float64) {
	w := s.w
	for r, reg := range s.regs {
		for _, p32 := range reg.reads {
			p := int(p32)
			d := min(reg.rate[p]*dt, w.pieceBytes[p]-reg.read[p])
			if q := int(reg.src[p]); q != srcOrigin {
				have, _ := s.sourceLanded(q, p)
				d = min(d, have-reg.read[p]) // a step may not pass the source
			}
			if d <= 0 {
				continue
			}
			reg.read[p] += d
			reg.since[p] = s.now + dt
			if reg.src[p] == srcOrigin {
				s.originBytes[r] += d
			} else {
				s.crossBytes += d
			}
			if w.mode == ModePiece {
				reg.landed[p] += d
				reg.avail += d
			}
		}
		for _, n := range w.regions[r].members {
			if s.active(n) {
				s.nodes[n].b = min(s.nodes[n].b+s.rates[n]*dt, reg.avail)
			}
		}
	}
}

func (s *coordinated) settle() {
	w := s.w
	for r, reg := range s.regs {
		for k := 0; k < len(reg.reads); k++ {
			p := int(reg.reads[k])
			n := int(reg.reader[p])
			done := reg.read[p] >= w.pieceBytes[p]-eps
			if done {
				if left := w.pieceBytes[p] - reg.read[p]; left > 0 {
					if reg.src[p] == srcOrigin {
						s.originBytes[r] += left
					} else {
						s.crossBytes += left
					}
				}
				reg.read[p] = w.pieceBytes[p]
			}
			landed := reg.read[p]
			if !done && w.mode == ModeBlock {
				landed = math.Floor((reg.read[p]+eps)/w.block) * w.block
			}
			if d := landed - reg.landed[p]; d > 0 {
				// The reader holds what landed; so does the region.
				reg.landed[p] = landed
				reg.avail += d
				s.nodes[n].b = min(s.nodes[n].b+d, reg.avail)
			}
			if !done {
				continue
			}
			reg.state[p], reg.rate[p] = pieceDone, 0
			if s.reading[n] == p {
				s.reading[n] = -1
			}
			reg.reads[k] = reg.reads[len(reg.reads)-1]
			reg.reads = reg.reads[:len(reg.reads)-1]
			k--
			if reg.done++; reg.done == len(reg.state) {
				reg.avail = w.size // no rounding left over
			}
		}
		for _, n := range w.regions[r].members {
			if s.active(n) && s.nodes[n].b >= w.size-eps && reg.avail >= w.size-eps {
				s.finish(n)
			}
		}
	}
}
