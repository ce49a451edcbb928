package sim

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/meshcache/meshcache/mesh/policy"
	"github.com/meshcache/meshcache/simulations/scenario"
)

// world is a scenario laid out for simulation: nodes with their NICs,
// start times and failures, regions, the origin. Strategies share it and
// keep their own state.
type world struct {
	sc     *scenario.Scenario
	mode   Mode
	size   float64 // dataset bytes
	block  float64
	pieces policy.Pieces
	// pieceBytes[p] is piece p's size (the last may be short).
	pieceBytes []float64
	origin     float64 // origin capacity, B/s
	nodes      []nodeInfo
	regions    []regionInfo
	events     []event // external events in time order
	// quantum is the shortest step of quantized strategies (0: exact).
	quantum float64
	// regionOwners caches owners(): built once, shared by strategies.
	regionOwners []*regionOwners
}

// maxRegions keeps region indexes in a piece's int8 source and a
// uint64 set of stalled regions.
const maxRegions = 64

// quantumShare is the piece-mode step as a share of S / origin bandwidth.
const quantumShare = 1e-3

type nodeInfo struct {
	region int
	id     string
	nic    float64
	start  float64 // pin start (time to pin counts from here)
	// forGood: the node fails and does not come back.
	forGood bool
}

type regionInfo struct {
	name    string
	members []int // node indexes
	// fabric is the region's intra-region capacity (+Inf: unlimited).
	fabric float64
}

type eventKind int

// Events at one time apply in this order.
const (
	evDown  eventKind = iota // the node stops moving bytes
	evLeave                  // its peers drop it from their view
	evUp                     // a stopped node is back (and in the view)
	evStart                  // the node starts pinning, one origin RTT after its pin start
)

type event struct {
	t    float64
	kind eventKind
	node int
}

func newWorld(sc *scenario.Scenario, opt Options) (*world, error) {
	if len(sc.Regions) > maxRegions {
		return nil, fmt.Errorf("%d regions: the simulator handles at most %d", len(sc.Regions), maxRegions)
	}
	w := &world{sc: sc, size: float64(sc.Dataset.Size), block: float64(sc.Dataset.BlockSize), origin: float64(sc.Origin.Bandwidth)}
	blocks := sc.Dataset.Blocks()
	pieces, err := policy.NewPieces(blocks, sc.Dataset.PieceBlocks)
	if err != nil {
		return nil, fmt.Errorf("cut dataset into pieces: %w", err)
	}
	w.pieces = pieces
	w.pieceBytes = make([]float64, pieces.Count())
	for p := range w.pieceBytes {
		first, end := pieces.Range(int64(p))
		w.pieceBytes[p] = float64(min(end*sc.Dataset.BlockSize, sc.Dataset.Size) - first*sc.Dataset.BlockSize)
	}
	w.mode = opt.Mode
	if w.mode == ModeAuto {
		w.mode = ModePiece
		if int64(sc.Nodes())*blocks <= AutoBlockLimit {
			w.mode = ModeBlock
		}
	}
	if w.mode == ModePiece {
		// A thousandth of the time the origin needs for one copy: short
		// against every pin, long against the gaps between thousands of
		// concurrent piece reads finishing.
		w.quantum = quantumShare * w.size / w.origin
	}
	offsets := sc.StartOffsets(opt.Seed)
	for ri, r := range sc.Regions {
		reg := regionInfo{name: r.Name, fabric: math.Inf(1)}
		if bw := sc.IntraRegion.Bandwidth; bw > 0 {
			reg.fabric = float64(bw)
		}
		rtt := 2 * (sc.LinkBetween(r.Name, sc.Origin.Region).Latency + sc.Origin.Latency).Seconds()
		for i := range r.Nodes {
			ref := scenario.NodeRef{Region: ri, Index: i}
			n := len(w.nodes)
			start := offsets[ri][i].Seconds()
			w.nodes = append(w.nodes, nodeInfo{region: ri, id: sc.NodeName(ref), nic: float64(sc.NodeNIC(r.Name, i)), start: start})
			reg.members = append(reg.members, n)
			w.events = append(w.events, event{t: start + rtt, kind: evStart, node: n})
		}
		w.regions = append(w.regions, reg)
	}
	firstNode := make([]int, len(sc.Regions))
	for ri := 1; ri < len(sc.Regions); ri++ {
		firstNode[ri] = firstNode[ri-1] + sc.Regions[ri-1].Nodes
	}
	for _, f := range sc.FailurePlan(opt.Seed) {
		n := firstNode[f.Node.Region] + f.Node.Index
		at := f.At.Seconds()
		w.nodes[n].forGood = f.Kind == scenario.KindCrash || f.For == 0
		w.events = append(w.events, event{t: at, kind: evDown, node: n})
		switch {
		case f.Kind == scenario.KindCrash:
			// Nobody is told: the node's pieces stall until the progress
			// timeout makes its peers give up on it.
			w.events = append(w.events, event{t: at + sc.ProgressTimeout.Seconds(), kind: evLeave, node: n})
		case f.For > 0:
			// back below; a node stopped for a while still finishes.
			w.events = append(w.events, event{t: at, kind: evLeave, node: n}, event{t: at + f.For.Seconds(), kind: evUp, node: n})
		default:
			w.events = append(w.events, event{t: at, kind: evLeave, node: n})
		}
	}
	slices.SortStableFunc(w.events, func(a, b event) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.kind, b.kind)
	})
	return w, nil
}

// linkCap is the shared capacity between regions a and b (+Inf when
// unlimited).
func (w *world) linkCap(a, b int) float64 {
	l := w.sc.LinkBetween(w.regions[a].name, w.regions[b].name)
	if a == b {
		return w.regions[a].fabric
	}
	if l.Bandwidth <= 0 {
		return math.Inf(1)
	}
	return float64(l.Bandwidth)
}

// slowestNIC is the smallest NIC in the scenario.
func (w *world) slowestNIC() float64 {
	s := math.Inf(1)
	for _, n := range w.nodes {
		s = min(s, n.nic)
	}
	return s
}
