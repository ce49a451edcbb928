package sim

import (
	"github.com/meshcache/meshcache/mesh/policy"
)

// rankDepth is how many members of each piece's takeover order are kept:
// Table.Rank's allocation-free depth. A piece whose first rankDepth
// members are all out of the view asks Table.TakeoverIndex instead.
const rankDepth = 16

// regionOwners is a region's piece ownership as mesh/policy decides it: a
// Table over the region's members (every node that will pin; whether one
// is in the view at a given moment is the strategy's business) and, per
// piece, the head of its takeover order.
type regionOwners struct {
	table *policy.Table
	// nodeOf maps a view index to a node index, viewOf the reverse.
	nodeOf []int
	viewOf map[int]int
	// rank[p] is piece p's takeover order (view indexes), owner first.
	rank [][]int32
	// pieces[v] lists the pieces whose rank holds view member v: the only
	// pieces that can move to v when it joins.
	pieces [][]int32
}

func (w *world) datasetKey() string { return "meshcache-sim/" + w.sc.Name }

// owners builds the ownership of every region (shared by the coordinated
// strategies of one run; it is read-only once built).
func (w *world) owners() []*regionOwners {
	if w.regionOwners != nil {
		return w.regionOwners
	}
	out := make([]*regionOwners, len(w.regions))
	for r, reg := range w.regions {
		ids := make([]string, len(reg.members))
		for k, n := range reg.members {
			ids[k] = w.nodes[n].id
		}
		view := policy.NewView(1, ids)
		o := &regionOwners{table: policy.NewTable(w.datasetKey(), view), nodeOf: make([]int, view.Len()), viewOf: make(map[int]int, view.Len())}
		for _, n := range reg.members {
			v := view.Index(w.nodes[n].id)
			o.nodeOf[v], o.viewOf[n] = n, v
		}
		count := w.pieces.Count()
		o.rank = make([][]int32, count)
		o.pieces = make([][]int32, view.Len())
		flat := make([]int32, 0, count*int64(min(rankDepth, view.Len())))
		var dst []int
		for p := range count {
			dst = o.table.Rank(p, rankDepth, dst[:0])
			start := len(flat)
			for _, v := range dst {
				flat = append(flat, int32(v))
				o.pieces[v] = append(o.pieces[v], int32(p))
			}
			o.rank[p] = flat[start:len(flat):len(flat)]
		}
		out[r] = o
	}
	w.regionOwners = out
	return out
}

// owner is the node that owns piece p among the members inView reports,
// or -1 when none is: the first of the piece's rank in the view, else
// whoever Table.TakeoverIndex picks over the rest.
func (o *regionOwners) owner(p int, inView func(node int) bool) int {
	for _, v := range o.rank[p] {
		if n := o.nodeOf[v]; inView(n) {
			return n
		}
	}
	v := o.table.TakeoverIndex(int64(p), func(v int) bool { return !inView(o.nodeOf[v]) })
	if v < 0 {
		return -1
	}
	return o.nodeOf[v]
}

// regionTable is the cross-region ownership: a Table over region names.
func (w *world) regionTable() (*policy.Table, []int) {
	names := make([]string, len(w.regions))
	for r, reg := range w.regions {
		names[r] = reg.name
	}
	view := policy.NewView(1, names)
	regionOf := make([]int, view.Len())
	for r, name := range names {
		regionOf[view.Index(name)] = r
	}
	return policy.NewTable(w.datasetKey(), view), regionOf
}

// nearestRegion is the region, among candidates, that region r fetches
// from: policy.RankHolders over one holder per candidate region, at the
// round trip between the regions (no randomness: the first of equally
// near ones by name), as a node ranks the holders of a block. -1 when
// there is no candidate.
func (w *world) nearestRegion(r int, candidates []int) int {
	if len(candidates) == 0 {
		return -1
	}
	hs := make([]policy.Holder, len(candidates))
	for k, q := range candidates {
		rtt := 2 * w.sc.LinkBetween(w.regions[r].name, w.regions[q].name).Latency
		hs[k] = policy.Holder{ID: w.regions[q].name, Labels: policy.Labels{Region: w.regions[q].name}, RTT: rtt}
	}
	policy.RankHolders(hs, policy.DefaultRankOptions(policy.Labels{Region: w.regions[r].name}, nil))
	return w.sc.RegionIndex(hs[0].ID)
}
