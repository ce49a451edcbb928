// Package wan is a user-space WAN router: it reads IPv4 packets from a
// device (a TUN interface in the emulation's "wan" network namespace),
// classifies each by the sites of its source and destination addresses, and
// sends it back to the device after the directed link's serialization time
// (its rate) and fixed delay (its latency). It counts bytes, packets and
// drops per directed link.
//
// It exists because the kernel of the test machines has no netem: tbf and
// htb can shape a rate but cannot delay, so the latency between regions is
// added here. Each directed link is a FIFO: a packet leaves at
// max(now, link busy until) + len/rate + delay, so departures stay in order
// and one timer per link suffices. Queues are bounded: a packet that would
// wait longer than Config.MaxBacklog for the link's rate, or that finds the
// link's queue full, is dropped and counted, as a router would.
//
// With OpenOffloadTUN (and Config.VNetHdr) the kernel hands the router GSO
// super-packets of up to 64 KiB behind a virtio_net_hdr; the router delays
// and writes them back whole and the kernel segments them later. Rates and
// counters treat a super-packet as the segments it becomes: LinkStats
// Bytes and Packets are on-the-wire IP bytes and packets, Frames the
// reads and writes the router did.
//
//	tun, _ := wan.OpenOffloadTUN("/run/netns/x-wan", "wan0") // inside the namespace
//	r, _ := wan.New(wan.Config{Device: tun, VNetHdr: true, Sites: sites, Links: links})
//	go r.Run(ctx)                                     // closes tun when ctx ends
//	r.Stats()                                         // per directed link
package wan
