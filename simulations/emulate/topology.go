package emulate

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/meshcache/meshcache/simulations/scenario"
)

// routerTable is the routing table in the wan namespace that sends
// everything arriving from a region's bridge into the router's TUN.
const routerTable = "100"

// tunName is the router's TUN device in the wan namespace.
const tunName = "wan0"

// host is one namespace with one address on a region's bridge.
type host struct {
	NS     string
	Port   string // the veth end on the bridge, in the wan namespace
	Region int
	Index  int // node index in its region; -1 for the origin
	Addr   netip.Addr
	// Rate shapes both directions of the host's link (bytes/s; 0 unshaped).
	Rate float64
	// Upload shapes only the host's egress (the origin's bandwidth).
	UploadOnly bool
}

// topology is the plan of namespaces and addresses for a scenario.
type topology struct {
	Prefix  string
	WanNS   string
	Regions []string
	Nodes   []host
	Origin  host
}

// regionSubnet is region r's subnet, 10.(r+1).0.0/16.
func regionSubnet(r int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(r + 1), 0, 0}), 16)
}

// gateway is region r's gateway on its bridge, 10.(r+1).255.254.
func gateway(r int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(r + 1), 255, 254}) }

// nodeAddr is node i of region r, 10.(r+1).x.y counting from .0.2.
func nodeAddr(r, i int) netip.Addr {
	n := i + 2
	return netip.AddrFrom4([4]byte{10, byte(r + 1), byte(n >> 8), byte(n)})
}

func planTopology(sc *scenario.Scenario, prefix string) (*topology, error) {
	if len(sc.Regions) > 250 {
		return nil, fmt.Errorf("emulate: %d regions, at most 250", len(sc.Regions))
	}
	t := &topology{Prefix: prefix, WanNS: prefix + "-wan"}
	for r, reg := range sc.Regions {
		if reg.Nodes > 60000 {
			return nil, fmt.Errorf("emulate: region %s has %d nodes, at most 60000", reg.Name, reg.Nodes)
		}
		t.Regions = append(t.Regions, reg.Name)
		for i := range reg.Nodes {
			name := fmt.Sprintf("r%dn%d", r, i)
			t.Nodes = append(t.Nodes, host{
				NS: prefix + "-" + name, Port: name, Region: r, Index: i,
				Addr: nodeAddr(r, i), Rate: float64(sc.NodeNIC(reg.Name, i)),
			})
		}
	}
	o := sc.RegionIndex(sc.Origin.Region)
	if o < 0 {
		return nil, fmt.Errorf("emulate: origin region %q is not a region", sc.Origin.Region)
	}
	t.Origin = host{
		NS: prefix + "-origin", Port: "origin", Region: o, Index: -1,
		Addr: netip.AddrFrom4([4]byte{10, byte(o + 1), 255, 1}), Rate: float64(sc.Origin.Bandwidth), UploadOnly: true,
	}
	return t, nil
}

// buildWAN creates the wan namespace, its bridges and its policy routing.
// The TUN is created separately (it belongs to the router).
func (t *topology) buildWAN(ctx context.Context) error {
	ns := t.WanNS
	if err := run(ctx, "ip", "netns", "add", ns); err != nil {
		return err
	}
	// rp_filter off before any interface exists: packets the router writes
	// back arrive on wan0 with sources routed via a bridge.
	steps := [][]string{
		{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.default.send_redirects=0"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
	}
	for r := range t.Regions {
		br := fmt.Sprintf("br%d", r)
		steps = append(steps,
			[]string{"ip", "-n", ns, "link", "add", br, "type", "bridge"},
			[]string{"ip", "-n", ns, "addr", "add", netip.PrefixFrom(gateway(r), 16).String(), "dev", br},
			[]string{"ip", "-n", ns, "link", "set", br, "up"},
			[]string{"ip", "-n", ns, "rule", "add", "iif", br, "lookup", routerTable, "pref", "100"},
		)
	}
	for _, s := range steps {
		if err := run(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// routeIntoTUN brings the router's TUN up and routes traffic arriving from
// the bridges into it.
func (t *topology) routeIntoTUN(ctx context.Context) error {
	if err := ipIn(ctx, t.WanNS, "link", "set", tunName, "up"); err != nil {
		return err
	}
	return ipIn(ctx, t.WanNS, "route", "add", "10.0.0.0/8", "dev", tunName, "table", routerTable)
}

// addHost creates h's namespace and its veth into the region's bridge, with
// its address, default route and rate limits.
func (t *topology) addHost(ctx context.Context, h host) error {
	if err := run(ctx, "ip", "netns", "add", h.NS); err != nil {
		return err
	}
	br := fmt.Sprintf("br%d", h.Region)
	steps := [][]string{
		// Created inside the wan namespace with its peer placed straight
		// into the host's: no interface ever exists in the caller's.
		{"-n", t.WanNS, "link", "add", h.Port, "type", "veth", "peer", "name", "eth0", "netns", h.NS},
		{"-n", t.WanNS, "link", "set", h.Port, "master", br},
		{"-n", t.WanNS, "link", "set", h.Port, "up"},
		{"-n", h.NS, "link", "set", "lo", "up"},
		// A /32 and a route to the gateway only: every packet, also to a
		// neighbour on the same bridge, goes to the gateway and through
		// the router, which adds the region's own latency.
		{"-n", h.NS, "addr", "add", hostPrefix(h.Addr).String(), "dev", "eth0"},
		{"-n", h.NS, "link", "set", "eth0", "up"},
		{"-n", h.NS, "route", "add", gateway(h.Region).String(), "dev", "eth0", "scope", "link"},
		{"-n", h.NS, "route", "add", "default", "via", gateway(h.Region).String()},
	}
	for _, s := range steps {
		if err := run(ctx, "ip", s...); err != nil {
			return err
		}
	}
	// Hosts on a WAN get TCP buffers sized for its bandwidth-delay product
	// (the defaults cap a connection's window near 3 MiB: 10 MB/s at 300 ms).
	if err := run(ctx, "ip", "netns", "exec", h.NS, "sysctl", "-qw",
		"net.ipv4.tcp_rmem=4096 131072 67108864", "net.ipv4.tcp_wmem=4096 16384 67108864",
		"net.ipv4.tcp_slow_start_after_idle=0"); err != nil {
		return err
	}
	if h.Rate <= 0 {
		return nil
	}
	if err := shape(ctx, h.NS, "eth0", h.Rate); err != nil {
		return err
	}
	if h.UploadOnly {
		return nil
	}
	return shape(ctx, t.WanNS, h.Port, h.Rate)
}

// shape puts a tbf of rate bytes/s on dev's egress. The bucket holds 5 ms
// at the rate (at least 64 KiB, so GSO bursts pass without being split), and
// the queue 50 ms, enough for QUIC's pacing to keep the link busy.
func shape(ctx context.Context, ns, dev string, rate float64) error {
	burst := max(int64(rate*0.005), 64<<10)
	return run(ctx, "tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "tbf",
		"rate", fmt.Sprintf("%dbit", int64(rate*8)),
		"burst", fmt.Sprint(burst), "latency", "50ms")
}

// hostPrefix is the /32 of a.
func hostPrefix(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, 32) }
