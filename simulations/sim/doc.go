// Package sim is meshcache's discrete-event simulator: N nodes in regions
// pin one dataset while the simulator shares every NIC, inter-region link
// and the origin among the transfers in flight (max-min fair, fluid
// between events), and compares how four strategies fare: every node
// reading the origin (all-origin), peers without coordination
// (peers-uncoordinated), meshcache's per-region piece owners (coordinated)
// and, with cross_region, regions feeding each other (coordinated-global).
//
// Ownership questions are answered by the daemon's own code,
// mesh/policy: a Table per region over the members that want the dataset
// picks each piece's origin reader and its takeover order, a Table over
// region names and CrossRegion.Decide pick where a region gets a piece
// from. The simulator ranks nothing itself (a test parses its sources to
// keep it so), so what it measures is what the daemon decides.
//
// Two granularities share one engine: ModeBlock makes data available to
// other nodes block by block, as the daemon does, at exact event times;
// ModePiece lets it flow continuously and moves in short fixed-minimum
// steps, which needs a step per quantum instead of an event per block and
// node, and is what makes 10,000 nodes and 1 TiB fit in seconds. Their
// difference is measured by tests at N = 100 and 1,000
// (docs/simulations.md).
package sim
