package emulate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/meshcache/meshcache/simulations/scenario"
)

func itoa(n int) string { return strconv.Itoa(n) }

func inode(path string) (uint64, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, fmt.Errorf("stat %s: %w", path, err)
	}
	return st.Ino, nil
}

// hostState is what the caller's namespace has: its links and routes. A run
// must leave both as they were.
type hostState struct{ links, routes []string }

func readHostState() (hostState, error) {
	var h hostState
	for _, c := range []struct {
		args []string
		out  *[]string
	}{
		{[]string{"-o", "link", "show"}, &h.links},
		{[]string{"route", "show", "table", "all"}, &h.routes},
	} {
		out, err := exec.Command("ip", c.args...).Output()
		if err != nil {
			return h, fmt.Errorf("ip %v: %w", c.args, err)
		}
		for line := range strings.Lines(string(out)) {
			f := strings.Fields(line)
			if c.out == &h.links && len(f) > 1 {
				line = f[1] // the name; counters and flags change
			}
			*c.out = append(*c.out, strings.TrimSpace(line))
		}
		slices.Sort(*c.out)
	}
	return h, nil
}

func requireSmall(t *testing.T) *smallRun {
	t.Helper()
	testenv.RequireRoot(t)
	r := small()
	if r.err != nil {
		t.Fatalf("harness run of %s: %v", smallScenario, r.err)
	}
	return r
}

// TestDaemonsInOwnNamespaces: every daemon process ran in the namespace made
// for it, all different and none the test's own.
func TestDaemonsInOwnNamespaces(t *testing.T) {
	r := requireSmall(t)
	if len(r.daemons) != r.sc.Nodes() {
		t.Fatalf("%d daemons ran, want %d", len(r.daemons), r.sc.Nodes())
	}
	seen := map[uint64]string{}
	for _, d := range r.daemons {
		got, want := r.nsOf[d.Name], r.nsWant[d.Name]
		if got != want || got == r.ownNS || got == 0 {
			t.Errorf("daemon %s (pid %d): /proc/PID/ns/net inode %d, namespace %s inode %d, ours %d", d.Name, d.PID, got, d.Namespace, want, r.ownNS)
		}
		if other, dup := seen[got]; dup {
			t.Errorf("daemons %s and %s share a network namespace", d.Name, other)
		}
		seen[got] = d.Name
	}
}

// TestRTTBetweenRegions: a UDP echo between two nodes takes at least the
// configured latency both ways (the router's delay), and not much more:
// between regions, inside one (1 ms each way; a bridge alone answers in
// about 0.01 ms), and between the origin and its region.
func TestRTTBetweenRegions(t *testing.T) {
	r := requireSmall(t)
	n := 0
	for _, a := range r.sc.Regions {
		for _, b := range r.sc.Regions {
			n++
			got := r.rep.RTTms[a.Name+"-"+b.Name]
			latency := r.sc.LinkBetween(a.Name, b.Name).Latency
			if a.Name == b.Name && latency != r.sc.IntraRegion.Latency || latency <= 0 {
				t.Fatalf("link %s→%s: latency %v, the scenario's intra-region %v: the test needs a delay to find", a.Name, b.Name, latency, r.sc.IntraRegion.Latency)
			}
			want := 2 * float64(latency) / float64(time.Millisecond)
			slack := 50.0
			if a.Name == b.Name {
				slack = 20
			}
			if got < want || got > want+slack {
				t.Errorf("RTT %s→%s %.2f ms, want ≥ %.0f ms (2 × one-way latency) and within %.0f ms of it", a.Name, b.Name, got, want, slack)
			}
		}
	}
	// The origin's traffic to its own region crosses the router too.
	o := r.sc.Origin.Region
	want := 2 * float64(r.sc.LinkBetween(o, o).Latency+r.sc.Origin.Latency) / float64(time.Millisecond)
	if got := r.rep.RTTms["origin-"+o]; got < want || got > want+20 {
		t.Errorf("RTT origin→%s %.2f ms, want ≥ %.0f ms and within 20 ms of it", o, got, want)
	}
	n++
	if len(r.rep.RTTms) != n {
		t.Errorf("RTTs %v, want %d pairs", r.rep.RTTms, n)
	}
}

// TestOriginBytesPerRegion: with coordinated piece ownership each region
// reads the dataset from the origin about once, by the origin's own count.
func TestOriginBytesPerRegion(t *testing.T) {
	r := requireSmall(t)
	var table strings.Builder
	r.rep.WriteTable(&table)
	t.Logf("report:\n%s", table.String())
	s := float64(r.rep.DatasetBytes)
	for i, b := range r.rep.OriginBytesPerRegion {
		t.Logf("region %s: origin sent %.2f × S", r.rep.RegionNames[i], float64(b)/s)
		if float64(b) < s {
			t.Errorf("region %s: origin sent %d bytes, less than the dataset (%d): the count misses reads", r.rep.RegionNames[i], b, r.rep.DatasetBytes)
		}
		if float64(b) > 1.05*s {
			t.Errorf("region %s: origin sent %.2f × S, want ≤ 1.05 × S", r.rep.RegionNames[i], float64(b)/s)
		}
	}
}

// TestNoCrossRegionBlocks: every region has holders of its own, so blocks do
// not cross regions; what the router carries between regions is control
// traffic (DHT, availability, QUIC acks), well under 5 % of the dataset.
func TestNoCrossRegionBlocks(t *testing.T) {
	r := requireSmall(t)
	cross := r.rep.Strategies[0].CrossRegionBytes
	t.Logf("cross-region bytes through the router during the pins: %d (%.2f %% of S); links %+v", cross, 100*float64(cross)/float64(r.rep.DatasetBytes), r.rep.CrossRegion)
	if float64(cross) >= 0.05*float64(r.rep.DatasetBytes) {
		t.Errorf("%d bytes crossed regions between daemons, ≥ 5 %% of the dataset (%d)", cross, r.rep.DatasetBytes)
	}
	// The origin's traffic to the other regions went through the router
	// too: it carried at least the origin bytes those regions were sent.
	var originOut int64
	for _, l := range r.rep.OriginLinks {
		if l.Src == "origin" {
			originOut += l.Bytes
		}
	}
	var remote int64
	for i, b := range r.rep.OriginBytesPerRegion {
		if r.rep.RegionNames[i] != r.sc.Origin.Region {
			remote += b
		}
	}
	if originOut < remote {
		t.Errorf("router carried %d bytes from the origin, less than the %d nginx sent to other regions", originOut, remote)
	}
}

// TestNothingLeftBehind: after the run no namespace of its prefix remains,
// and the caller's namespace has the links and routes it had before.
func TestNothingLeftBehind(t *testing.T) {
	r := requireSmall(t)
	checkClean(t, r.prefix)
	after, err := readHostState()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(after.links, r.hostBefore.links) {
		t.Errorf("links of the root namespace changed:\nbefore %v\nafter  %v", r.hostBefore.links, after.links)
	}
	if !slices.Equal(after.routes, r.hostBefore.routes) {
		t.Errorf("routes of the root namespace changed:\nbefore %v\nafter  %v", r.hostBefore.routes, after.routes)
	}
}

func checkClean(t *testing.T, prefix string) {
	t.Helper()
	left, err := Namespaces(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("namespaces left after the run: %v", left)
	}
}

// TestFailHalfwayCleansUp: a run that fails after starting half the daemons
// returns the failure and leaves no namespace and no daemon behind.
func TestFailHalfwayCleansUp(t *testing.T) {
	testenv.RequireRoot(t)
	bins, err := build()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := scenario.Load(smallScenario)
	if err != nil {
		t.Fatal(err)
	}
	prefix := DefaultPrefix() + "f"
	var pids []int
	sc := *loaded
	sc.Dataset.Size = 8 << 20 // the run fails before any pin: a small dataset will do
	opt := bins.options(prefix)
	opt.FailAfterDaemons = sc.Nodes() / 2
	opt.Inspect = func(context.Context, []DaemonInfo) error {
		return errors.New("Inspect ran: the run did not fail halfway")
	}
	_, err = Run(t.Context(), &sc, opt)
	if !errors.Is(err, ErrInjected) {
		t.Fatalf("Run: %v, want ErrInjected", err)
	}
	checkClean(t, prefix)
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), prefix+"-") {
		t.Errorf("ip netns list still shows %s-*:\n%s", prefix, out)
	}
	// No daemon or router survives: no process names the run's folder.
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		// Daemons name their folder in their arguments, the router its
		// socket in its environment.
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile("/proc/" + e.Name() + "/" + f)
			if err == nil && strings.Contains(string(b), prefix+"-") && pid != os.Getpid() {
				pids = append(pids, pid)
				break
			}
		}
	}
	if len(pids) > 0 {
		t.Errorf("processes of the failed run still alive: %v", pids)
	}
}

// TestIntraRegionThroughRouter: peer traffic inside a region crosses the
// router (for the region's latency): each region's own link carried at
// least the bytes its nodes say they received from peers of the region.
// With offloads the router handles GSO super-packets, several segments
// each.
func TestIntraRegionThroughRouter(t *testing.T) {
	r := requireSmall(t)
	carried := map[string]LinkBytes{}
	for _, l := range r.rep.IntraRegion {
		carried[l.Src] = l
	}
	t.Logf("router: %.1f s CPU during the pins, offloads %v; intra-region links %+v", r.rep.RouterCPUS, r.rep.RouterOffload, r.rep.IntraRegion)
	for _, reg := range r.sc.Regions {
		var peer int64
		for _, p := range r.rep.Pins {
			if p.Region == reg.Name {
				peer += p.PeerBytes - p.CrossRegionBytes
			}
		}
		l := carried[reg.Name]
		if peer == 0 || l.Bytes < peer {
			t.Errorf("region %s: router carried %d bytes inside the region, nodes received %d from peers of the region", reg.Name, l.Bytes, peer)
		}
		if r.rep.RouterOffload && l.Frames*2 > l.Packets {
			t.Errorf("region %s: %d frames for %d packets: the router sees few GSO super-packets despite offloads", reg.Name, l.Frames, l.Packets)
		}
	}
}
