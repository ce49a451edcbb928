// Package policy holds the mesh's decisions that need no network: how a
// dataset is cut into pieces, the membership view of a region, which member
// owns the origin read of each piece (rendezvous hashing) and in which order
// the others take it over, how holders of a block are ranked for fetching,
// and whether a piece missing from the region comes from another region or
// from the origin.
//
// Everything here is pure: no I/O, no goroutines, no clock reads (callers
// pass times and random sources in), and the same inputs give the same
// answers on every machine and in every process. The daemon and the
// simulator call this package, so what the simulator measures is what the
// daemon does. The weight hash is part of the protocol: nodes that hash
// differently disagree about owners, so changing it needs a protocol
// version.
package policy
