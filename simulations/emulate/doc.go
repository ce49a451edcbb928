// Package emulate runs a scenario (package simulations/scenario) with real
// meshcache daemons, each in its own network namespace, and measures what
// the simulator (simulations/sim) predicts: origin bytes per region,
// cross-region bytes and time to pin.
//
// Topology, all of it inside namespaces named PREFIX-*, nothing in the
// caller's namespace:
//
//	PREFIX-wan      bridges br0..brN (one per region, gateway 10.R.255.254/16),
//	                the TUN device wan0 read by the user-space router
//	                (simulations/wan), forwarding on
//	PREFIX-rRnI     node I of region R: eth0 10.(R+1).0.(I+2)/32, a veth whose
//	                peer is port rRnI on the region's bridge
//	PREFIX-origin   nginx serving the dataset folder, 10.(O+1).255.1/32, on
//	                the bridge of the origin's region
//
// Every host has a /32 and a route to its region's gateway only, so every
// packet, also one to a neighbour on the same bridge, goes to the gateway;
// a policy rule (iif brR → table 100 → wan0) hands it to the router, which
// holds it for the link's delay and rate (the scenario's intra_region link
// inside a region, the region pair's link between regions) and writes it
// back; packets coming from wan0 take the main table to the destination's
// bridge. The router (simulations/wan) is a process of its own in the wan
// namespace (`meshcache emulate helper`, or emud in the tests), so its
// speed does not depend on how the harness was built. Its TUN takes GSO
// super-packets (wan.OpenOffloadTUN), which is what makes carrying every
// peer byte of a region affordable.
//
// Rates: each node's NIC is a tbf qdisc on both ends of its veth (upload on
// eth0, download on the bridge port), the origin's bandwidth a tbf on its
// eth0, and the links (inside and between regions) are the router's rates.
// Latency is the router's delay (one-way, per direction).
//
// Failures: the scenario's failures strike the nodes the simulator picks
// (scenario.FailurePlan with Options.Seed) at their time after the pins
// start: a crash SIGKILLs the daemon, a stop SIGTERMs it (a graceful
// shutdown: peers drop it at once) and, with `for`, starts it again on the
// same data folder after that long and pins again.
//
// Every node runs `ip netns exec NS meshcache daemon …` and is driven over
// its unix socket from the caller's namespace (sockets are files). Teardown
// (Run's deferred path, and Cleanup for leftovers) kills the daemons',
// nginx's and the router's process groups, then deletes the namespaces,
// which removes their veths, bridges and the TUN. docs/simulations.md
// ("Emulation") has the details and the measurements.
package emulate
