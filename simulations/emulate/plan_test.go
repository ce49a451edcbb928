package emulate

import (
	"testing"
	"time"

	"github.com/meshcache/meshcache/simulations/scenario"
)

func loadSmall(t *testing.T) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(smallScenario)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestPlanTopology: names fit interface limits, addresses follow the plan,
// NICs come from the scenario, and the origin sits in its region's subnet.
func TestPlanTopology(t *testing.T) {
	sc := loadSmall(t)
	top, err := planTopology(sc, "mce1234")
	if err != nil {
		t.Fatal(err)
	}
	if len(top.Nodes) != sc.Nodes() {
		t.Fatalf("%d nodes planned, want %d", len(top.Nodes), sc.Nodes())
	}
	cases := []struct {
		i        int
		ns, port string
		addr     string
		region   int
		rateMbit float64
	}{
		{0, "mce1234-r0n0", "r0n0", "10.1.0.2", 0, 1000},
		{5, "mce1234-r1n2", "r1n2", "10.2.0.4", 1, 400},
		{8, "mce1234-r2n2", "r2n2", "10.3.0.4", 2, 1000},
	}
	for _, tc := range cases {
		h := top.Nodes[tc.i]
		if h.NS != tc.ns || h.Port != tc.port || h.Addr.String() != tc.addr || h.Region != tc.region || h.Rate*8/1e6 != tc.rateMbit {
			t.Errorf("node %d: %+v, want %s %s %s region %d %.0f Mbit/s", tc.i, h, tc.ns, tc.port, tc.addr, tc.region, tc.rateMbit)
		}
		if len(h.Port) > 15 {
			t.Errorf("port %q is longer than an interface name may be", h.Port)
		}
	}
	if o := top.Origin; o.Addr.String() != "10.1.255.1" || !regionSubnet(0).Contains(o.Addr) || !o.UploadOnly || o.Rate*8/1e6 != 300 {
		t.Errorf("origin %+v: want 10.1.255.1 in eu, 300 Mbit/s upload", o)
	}
	if got := nodeAddr(1, 300).String(); got != "10.2.1.46" {
		t.Errorf("node 300 of region 1 at %s, want 10.2.1.46", got)
	}
}

// TestRouterSpec: the router gets the scenario's per-pair latency and
// bandwidth, the origin's links are those of its region, and the origin's
// /32 is matched before its region's /16.
func TestRouterSpec(t *testing.T) {
	sc := loadSmall(t)
	top, err := planTopology(sc, "mce1")
	if err != nil {
		t.Fatal(err)
	}
	spec := routerSpec(sc, top, "/x.sock")
	if len(spec.Sites) != 4 || spec.Sites[0].Name != "origin" || spec.Sites[0].Prefixes[0].Bits() != 32 {
		t.Fatalf("sites %+v: want the origin's /32 first, then the 3 regions", spec.Sites)
	}
	link := func(src, dst int) LinkSpec {
		for _, l := range spec.Links {
			if l.Src == src && l.Dst == dst {
				return l
			}
		}
		t.Fatalf("no link %d→%d", src, dst)
		return LinkSpec{}
	}
	cases := []struct {
		name     string
		src, dst int
		delay    time.Duration
		mbit     float64
	}{
		{"eu→us", 1, 2, 80 * time.Millisecond, 300},
		{"us→ap (default)", 2, 3, 150 * time.Millisecond, 200},
		{"ap→eu", 3, 1, 120 * time.Millisecond, 200},
		{"origin→us is eu→us", 0, 2, 80 * time.Millisecond, 300},
		{"inside us: intra_region", 2, 2, time.Millisecond, 0},
		{"origin→eu is inside eu", 0, 1, time.Millisecond, 0},
	}
	for _, tc := range cases {
		l := link(tc.src, tc.dst)
		if l.Delay != tc.delay || l.Rate*8/1e6 != tc.mbit {
			t.Errorf("%s: %+v, want %v and %.0f Mbit/s", tc.name, l, tc.delay, tc.mbit)
		}
	}
}
