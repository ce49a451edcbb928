package scenario

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// NodeRef names node Index (0-based) of region Region (an index into
// Scenario.Regions).
type NodeRef struct {
	Region, Index int
}

// NodeName is a stable name for a node, "<region>-<index>".
func (s *Scenario) NodeName(n NodeRef) string {
	return fmt.Sprintf("%s-%d", s.Regions[n.Region].Name, n.Index)
}

// StartOffsets is when each node starts its pin, relative to the first
// possible start, indexed [region][node]: all zero for "together", drawn
// uniformly from [0, Spread) for "staggered". The same seed gives the same
// offsets, so the simulator and the emulation start nodes alike.
func (s *Scenario) StartOffsets(seed uint64) [][]time.Duration {
	rng := rand.New(rand.NewPCG(seed, 0x5747))
	out := make([][]time.Duration, len(s.Regions))
	for ri, r := range s.Regions {
		out[ri] = make([]time.Duration, r.Nodes)
		if s.Pins.Start != StartStaggered {
			continue
		}
		for i := range out[ri] {
			out[ri][i] = time.Duration(rng.Int64N(int64(s.Pins.Spread)))
		}
	}
	return out
}

// NodeFailure is one node's failure.
type NodeFailure struct {
	Node NodeRef
	Kind string
	At   time.Duration
	// For is how long a stopped node stays away; 0 means for good.
	For time.Duration
}

// FailureCount is how many nodes f fails: Count, or Fraction of the pool
// (its region's nodes or all nodes) rounded to the nearest whole node.
func (s *Scenario) FailureCount(f Failure) int {
	if f.Count > 0 {
		return f.Count
	}
	pool := s.Nodes()
	if ri := s.RegionIndex(f.Region); f.Region != "" && ri >= 0 {
		pool = s.Regions[ri].Nodes
	}
	return int(math.Round(f.Fraction * float64(pool)))
}

// FailurePlan picks the nodes that fail, in Failures order: each failure
// draws its nodes at random (seeded) from those not already failing, so a
// node fails at most once. Pools smaller than the count fail all they
// hold.
func (s *Scenario) FailurePlan(seed uint64) []NodeFailure {
	rng := rand.New(rand.NewPCG(seed, 0xfa11))
	taken := map[NodeRef]bool{}
	var out []NodeFailure
	for _, f := range s.Failures {
		var pool []NodeRef
		for ri, r := range s.Regions {
			if f.Region != "" && r.Name != f.Region {
				continue
			}
			for i := range r.Nodes {
				if n := (NodeRef{ri, i}); !taken[n] {
					pool = append(pool, n)
				}
			}
		}
		k := min(s.FailureCount(f), len(pool))
		// A partial Fisher-Yates shuffle draws k distinct nodes.
		for j := range k {
			x := j + rng.IntN(len(pool)-j)
			pool[j], pool[x] = pool[x], pool[j]
			taken[pool[j]] = true
			out = append(out, NodeFailure{Node: pool[j], Kind: f.Kind, At: f.At, For: f.For})
		}
	}
	return out
}
