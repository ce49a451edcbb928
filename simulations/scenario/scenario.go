package scenario

import (
	"time"
)

// Pin start modes.
const (
	StartTogether  = "together"
	StartStaggered = "staggered"
)

// Failure kinds.
const (
	// KindCrash: the node dies silently; peers notice only when its pieces
	// stop progressing (ProgressTimeout). It never finishes its pin.
	KindCrash = "crash"
	// KindStop: the node leaves gracefully (its peers drop it from the view
	// at once). With For it comes back after that long and finishes its
	// pin; without, it never finishes.
	KindStop = "stop"
)

// Defaults applied by Parse to fields left out.
const (
	DefaultBlockSize       = 1 << 20
	DefaultNICRate         = Rate(1e9 / 8) // 1 Gbit/s
	DefaultProgressTimeout = 5 * time.Second
)

// Scenario is one parsed, validated scenario file.
type Scenario struct {
	Name, Description string
	Dataset           Dataset
	Regions           []Region
	// IntraRegion is the link between two nodes of one region;
	// InterRegion the default between two regions, and Links the
	// overrides for pairs of regions. A link's Bandwidth is the capacity
	// shared by all transfers across it (0: unlimited).
	IntraRegion Link
	InterRegion Link
	Links       []PairLink
	Origin      Origin
	// DefaultNIC is the NIC speed of nodes in regions that list none.
	DefaultNIC  Rate
	Pins        Pins
	Failures    []Failure
	CrossRegion bool
	// Sweep lists node counts for the plot (regions scaled in proportion).
	Sweep []int
	// ProgressTimeout is how long a piece's owner may make no progress
	// before the next member in takeover order reads the piece instead.
	ProgressTimeout time.Duration
}

// Dataset is what every node pins.
type Dataset struct {
	Size, BlockSize int64
	// PieceBlocks is the piece size in blocks (policy.Pieces); Files only
	// shapes the dataset the emulation builds.
	PieceBlocks, Files int
}

// Blocks is the number of blocks (the last may be short).
func (d Dataset) Blocks() int64 { return (d.Size + d.BlockSize - 1) / d.BlockSize }

// Region is a group of nodes that coordinate among themselves.
type Region struct {
	Name  string
	Nodes int
	// NIC splits the region's nodes by NIC speed; empty means every node
	// has the scenario's DefaultNIC.
	NIC []NICShare
}

// NICShare says that a Share of a region's nodes have a NIC of Bandwidth
// (both directions).
type NICShare struct {
	Share     float64
	Bandwidth Rate
}

// Link is a network path's one-way latency and shared capacity.
type Link struct {
	Latency   time.Duration
	Bandwidth Rate // 0 = unlimited
}

// PairLink overrides the link between regions A and B (both directions).
type PairLink struct {
	A, B string
	Link
}

// Origin is where the dataset comes from on a cold miss.
type Origin struct {
	// Region places the origin: a node reaches it over the link between
	// its region and this one.
	Region    string
	Bandwidth Rate
	// Latency is added to the link latency (an origin's own response
	// time).
	Latency time.Duration
}

// Pins says when nodes start pinning: all at once, or at offsets spread
// uniformly over Spread.
type Pins struct {
	Start  string
	Spread time.Duration
}

// Failure makes some nodes fail At a time after the first pin starts:
// a Fraction of the nodes (of Region, or of all) or a Count of them.
type Failure struct {
	Fraction float64
	Count    int
	At       time.Duration
	Kind     string
	For      time.Duration
	// Region, when set, limits the failure to that region's nodes.
	Region string
}

// Nodes is the total number of nodes.
func (s *Scenario) Nodes() int {
	n := 0
	for _, r := range s.Regions {
		n += r.Nodes
	}
	return n
}

// RegionIndex is the index of the region named name, or -1.
func (s *Scenario) RegionIndex(name string) int {
	for i, r := range s.Regions {
		if r.Name == name {
			return i
		}
	}
	return -1
}

// LinkBetween is the link between regions a and b: the pair override if
// there is one, else IntraRegion when a == b and InterRegion otherwise.
func (s *Scenario) LinkBetween(a, b string) Link {
	if a == b {
		return s.IntraRegion
	}
	for _, l := range s.Links {
		if l.A == a && l.B == b || l.A == b && l.B == a {
			return l.Link
		}
	}
	return s.InterRegion
}

// NodeNIC is the NIC speed of node i of region: the region's NIC shares are
// laid over its nodes in order (the first Share of the nodes get the first
// speed, and so on), so the same scenario always gives node i the same
// speed. Unknown regions and regions without shares get DefaultNIC.
func (s *Scenario) NodeNIC(region string, i int) Rate {
	ri := s.RegionIndex(region)
	if ri < 0 || len(s.Regions[ri].NIC) == 0 {
		return s.DefaultNIC
	}
	r := s.Regions[ri]
	total := 0.0
	for _, sh := range r.NIC {
		total += sh.Share
	}
	// The node's midpoint in [0, 1) picks the share it falls in.
	pos := (float64(i) + 0.5) / float64(max(r.Nodes, 1)) * total
	acc := 0.0
	for _, sh := range r.NIC {
		acc += sh.Share
		if pos < acc {
			return sh.Bandwidth
		}
	}
	return r.NIC[len(r.NIC)-1].Bandwidth
}

// Scaled is the scenario with about n nodes in the same proportions over
// the regions (every region keeps at least one node); failure counts scale
// the same way (at least one when there was one).
func (s *Scenario) Scaled(n int) *Scenario {
	c := *s
	total := s.Nodes()
	c.Regions = make([]Region, len(s.Regions))
	for i, r := range s.Regions {
		r.Nodes = max(1, int(float64(r.Nodes)*float64(n)/float64(total)+0.5))
		c.Regions[i] = r
	}
	c.Failures = make([]Failure, len(s.Failures))
	for i, f := range s.Failures {
		if f.Count > 0 {
			f.Count = max(1, int(float64(f.Count)*float64(n)/float64(total)+0.5))
		}
		c.Failures[i] = f
	}
	return &c
}
