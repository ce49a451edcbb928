package emulate

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/meshcache/meshcache/simulations/scenario"
	"github.com/meshcache/meshcache/simulations/sim"
)

// TestFailures runs a small variant of the small scenario with one crash
// and one stop that comes back: the node the simulator's FailurePlan picks
// for the crash is reported failed, the stopped one finishes only after it
// came back, every other node finishes, and the counts match the
// simulator's. Ignoring the failures would let all nine finish early.
func TestFailures(t *testing.T) {
	testenv.RequireRoot(t)
	bins, err := build()
	if err != nil {
		t.Fatal(err)
	}
	sc := loadSmall(t)
	sc.Dataset.Size = 48 << 20
	const at, away = 1500 * time.Millisecond, 8 * time.Second
	sc.Failures = []scenario.Failure{
		{Count: 1, Region: "us", Kind: scenario.KindCrash, At: at},
		{Count: 1, Region: "ap", Kind: scenario.KindStop, At: at, For: away},
	}
	const seed = 7
	plan := sc.FailurePlan(seed)
	if len(plan) != 2 {
		t.Fatalf("failure plan %+v, want two nodes", plan)
	}
	name := func(n scenario.NodeRef) string { return "r" + itoa(n.Region) + "n" + itoa(n.Index) }
	crashed, stopped := name(plan[0].Node), name(plan[1].Node)

	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	opt := bins.options(DefaultPrefix() + "x")
	opt.Seed = seed
	opt.PinTimeout = 2 * time.Minute
	// While the pins run, after the failures struck and before the stopped
	// node is back: the crashed and the stopped daemons' processes are
	// gone, the others run.
	alive := make(chan map[string]bool, 1)
	opt.Inspect = func(ctx context.Context, ds []DaemonInfo) error {
		go func() {
			select {
			case <-ctx.Done():
				alive <- nil
				return
			case <-time.After(at + 3*time.Second):
			}
			m := map[string]bool{}
			for _, d := range ds {
				_, err := os.Stat("/proc/" + itoa(d.PID))
				m[d.Name] = err == nil
			}
			alive <- m
		}()
		return nil
	}
	rep, err := Run(ctx, sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	procs := <-alive
	if len(procs) != sc.Nodes() {
		t.Fatalf("saw %d daemon processes during the pins, want %d", len(procs), sc.Nodes())
	}
	for n, ok := range procs {
		if want := n != crashed && n != stopped; ok != want {
			t.Errorf("%v after the failures struck: daemon %s running = %v, want %v (crashed %s, stopped %s)", at+3*time.Second, n, ok, want, crashed, stopped)
		}
	}
	checkClean(t, opt.Prefix)
	var table strings.Builder
	rep.WriteTable(&table)
	t.Logf("crash %s, stop %s for %v; report:\n%s", crashed, stopped, away, table.String())

	for _, p := range rep.Pins {
		switch p.Node {
		case crashed:
			if p.State != "failed" || !strings.HasPrefix(p.Failure, scenario.KindCrash) {
				t.Errorf("crashed node %s: state %q, failure %q; want failed by a crash", p.Node, p.State, p.Failure)
			}
		case stopped:
			if p.State != "pinned" || !strings.HasPrefix(p.Failure, scenario.KindStop) {
				t.Errorf("stopped node %s: state %q, failure %q; want pinned after a stop", p.Node, p.State, p.Failure)
			}
			if min := (at + away).Seconds(); p.Seconds < min {
				t.Errorf("stopped node %s pinned after %.1f s, before it came back (%.1f s)", p.Node, p.Seconds, min)
			}
		default:
			if p.State != "pinned" || p.Failure != "" {
				t.Errorf("node %s: state %q, failure %q; want pinned", p.Node, p.State, p.Failure)
			}
		}
	}
	simRep, err := sim.Run(context.Background(), sc, sim.Options{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	s, e := simRep.Strategy(sim.Coordinated), rep.Strategies[0]
	t.Logf("side by side:\n%s", sideBySide(rep.RegionNames, s, &e))
	if e.Failed != s.Failed || e.Finished != s.Finished {
		t.Errorf("emulation: %d finished, %d failed; simulator: %d and %d", e.Finished, e.Failed, s.Finished, s.Failed)
	}
	// Origin bytes per region agree with the simulator as in TestAgreement,
	// the region of the node that came back included: a restarted daemon
	// waits for its first peer before it looks holders up, so it resumes
	// its pin from them.
	for i, name := range rep.RegionNames {
		em, si := e.OriginBytesRatioPerRegion[i], s.OriginBytesRatioPerRegion[i]
		lo, hi := si-originTolerance, si+originTolerance
		if em < lo || em > hi {
			t.Errorf("region %s: origin bytes %.2f × S emulated, %.2f × S simulated: want within [%.2f, %.2f]", name, em, si, lo, hi)
		}
	}
}
