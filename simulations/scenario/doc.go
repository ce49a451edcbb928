// Package scenario reads the scenario files that the simulator
// (simulations/sim) and the emulation harness (simulations/emulate) share:
// a dataset, regions of nodes with their NIC speeds, the links between
// regions, the origin, how pins start and which nodes fail. Sizes, rates
// and durations are strings with units ("256MiB", "1Gbit/s", "30s"), and
// validation names the field at fault
// (`regions[1].nic[0].bandwidth: "1Gbps": unknown unit`).
//
// The package also derives what both tools must agree on from a scenario
// and a seed alone: which NIC each node gets (NodeNIC), when each node
// starts its pin (StartOffsets) and which nodes fail when (FailurePlan).
package scenario
