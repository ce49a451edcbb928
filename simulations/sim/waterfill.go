package sim

import (
	"math"
	"slices"
)

// filler shares a capacity max-min fairly among demands with caps: every
// demand gets min(cap, λ) with λ as high as the capacity allows. Caps take
// few distinct values in practice (NIC classes, one origin share), so it
// groups them instead of sorting every demand; buffers are reused between
// calls because it runs once per resource per event.
type filler struct {
	groups []capGroup
}

type capGroup struct {
	cap float64
	n   int
}

// level is λ for capacity c over caps; +Inf when the caps fit.
func (f *filler) level(c float64, caps []float64) float64 {
	sum := 0.0
	for _, x := range caps {
		sum += x
	}
	if math.IsInf(c, 1) || sum <= c {
		return math.Inf(1)
	}
	f.groups = f.groups[:0]
	for _, x := range caps {
		if !f.add(x) {
			return sortedLevel(c, caps)
		}
	}
	slices.SortFunc(f.groups, func(a, b capGroup) int {
		switch {
		case a.cap < b.cap:
			return -1
		case a.cap > b.cap:
			return 1
		}
		return 0
	})
	left, n := c, len(caps)
	for _, g := range f.groups {
		if g.cap*float64(n) > left {
			return left / float64(n)
		}
		left -= g.cap * float64(g.n)
		n -= g.n
	}
	return math.Inf(1)
}

// add counts x in its group; false when there are too many groups to
// probe linearly.
func (f *filler) add(x float64) bool {
	for i := range f.groups {
		if f.groups[i].cap == x {
			f.groups[i].n++
			return true
		}
	}
	if len(f.groups) == 64 {
		return false
	}
	f.groups = append(f.groups, capGroup{x, 1})
	return true
}

func sortedLevel(c float64, caps []float64) float64 {
	s := slices.Clone(caps)
	slices.Sort(s)
	left := c
	for i, x := range s {
		n := float64(len(s) - i)
		if x*n > left {
			return left / n
		}
		left -= x
	}
	return math.Inf(1)
}
