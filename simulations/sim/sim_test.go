package sim

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/meshcache/meshcache/simulations/scenario"
)

func mustParse(t testing.TB, js string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse([]byte(js))
	if err != nil {
		t.Fatalf("parse scenario: %v\n%s", err, js)
	}
	return sc
}

func mustRun(t testing.TB, sc *scenario.Scenario, opt Options) *Report {
	t.Helper()
	rep, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), 1e-9)
}

// TestOneNodeMeetsBound: alone, a node can do no better than its NIC or
// the origin allows, and with no latency it does exactly that.
func TestOneNodeMeetsBound(t *testing.T) {
	for _, tc := range []struct{ nic, origin string }{{"1Gbit/s", "400Mbit/s"}, {"100Mbit/s", "1Gbit/s"}} {
		for _, mode := range []Mode{ModeBlock, ModePiece} {
			t.Run(fmt.Sprintf("nic=%s origin=%s %v", tc.nic, tc.origin, mode), func(t *testing.T) {
				sc := mustParse(t, fmt.Sprintf(`{"name": "one", "dataset": {"size": "64MiB", "block_size": "1MiB", "piece_blocks": 8},
					"regions": [{"name": "r", "nodes": 1, "nic": [{"share": 1, "bandwidth": %q}]}],
					"origin": {"region": "r", "bandwidth": %q}}`, tc.nic, tc.origin))
				rep := mustRun(t, sc, Options{Mode: mode})
				if len(rep.Strategies) != 3 {
					t.Fatalf("%d strategies, want 3 (no cross_region)", len(rep.Strategies))
				}
				for _, s := range rep.Strategies {
					if s.Finished != 1 || !near(s.TimeToPinS.Max, s.LowerBoundS, 1e-6) {
						t.Errorf("%s: time %v finished %d, bound %v", s.Name, s.TimeToPinS.Max, s.Finished, s.LowerBoundS)
					}
					if !near(s.OriginBytesRatio, 1, 1e-9) {
						t.Errorf("%s: origin ×%v, want 1", s.Name, s.OriginBytesRatio)
					}
				}
			})
		}
	}
}

const threeRegions = `{"name": "three", "dataset": {"size": "%s", "block_size": "1MiB", "piece_blocks": 8},
	"regions": [
		{"name": "eu", "nodes": %d, "nic": [{"share": 2, "bandwidth": "10Gbit/s"}, {"share": 1, "bandwidth": "1Gbit/s"}]},
		{"name": "us", "nodes": %d, "nic": [{"share": 1, "bandwidth": "10Gbit/s"}]},
		{"name": "ap", "nodes": %d}],
	"default_nic": "5Gbit/s",
	"intra_region": {"latency": "1ms"},
	"inter_region": {"latency": "100ms", "bandwidth": "20Gbit/s"},
	"origin": {"region": "eu", "bandwidth": "%s"},
	"pins": %s, "failures": %s, "cross_region": true}`

func threeRegionScenario(t testing.TB, size string, n int, origin, pins, failures string) *scenario.Scenario {
	return mustParse(t, fmt.Sprintf(threeRegions, size, n/3, n/3, n-2*(n/3), origin, pins, failures))
}

// TestKnownAnswers: all-origin reads N×S exactly; coordinated reads each
// piece once per region; coordinated-global once in all; every node
// finishes and none beats the bound's NIC term.
func TestKnownAnswers(t *testing.T) {
	for _, mode := range []Mode{ModeBlock, ModePiece} {
		t.Run(mode.String(), func(t *testing.T) {
			sc := threeRegionScenario(t, "128MiB", 30, "2Gbit/s", `{"start": "staggered", "spread": "3s"}`, `[]`)
			rep := mustRun(t, sc, Options{Seed: 7, Mode: mode})
			if rep.Nodes != 30 || rep.Regions != 3 || rep.DatasetBytes != 128<<20 {
				t.Fatalf("report header %+v", rep)
			}
			all := rep.Strategy(AllOrigin)
			if all.OriginBytesRatio != 30 {
				t.Errorf("all-origin reads %v × S, want exactly 30", all.OriginBytesRatio)
			}
			for i, v := range all.OriginBytesRatioPerRegion {
				if want := float64(sc.Regions[i].Nodes); v != want {
					t.Errorf("all-origin region %d reads %v × S, want %v", i, v, want)
				}
			}
			co := rep.Strategy(Coordinated)
			for i, v := range co.OriginBytesRatioPerRegion {
				if !near(v, 1, 1e-9) {
					t.Errorf("coordinated region %d reads %v × S, want 1", i, v)
				}
			}
			if co.CrossRegionBytes != 0 {
				t.Errorf("coordinated moved %d bytes across regions", co.CrossRegionBytes)
			}
			gl := rep.Strategy(CoordinatedGlobal)
			if gl.OriginBytesRatio < 1-1e-9 || gl.OriginBytesRatio > 1.5 {
				t.Errorf("coordinated-global reads %v × S, want 1 to 1.5", gl.OriginBytesRatio)
			}
			if want := float64(128<<20) * (3 - gl.OriginBytesRatio); gl.CrossRegionBytes < int64(want*0.999) {
				t.Errorf("coordinated-global moved %d bytes across regions, want at least %.0f", gl.CrossRegionBytes, want)
			}
			for _, s := range rep.Strategies {
				if s.Finished != 30 || s.Failed != 0 {
					t.Errorf("%s: %d finished, %d failed", s.Name, s.Finished, s.Failed)
				}
				nicBound := float64(128<<20) / (1e9 / 8)
				if s.TimeToPinS.Max < nicBound*(1-1e-9) {
					t.Errorf("%s: max %vs beats the slowest NIC's %vs", s.Name, s.TimeToPinS.Max, nicBound)
				}
			}
			if co.TimeToPinS.P50 >= all.TimeToPinS.P50 {
				t.Errorf("coordinated p50 %v not faster than all-origin %v", co.TimeToPinS.P50, all.TimeToPinS.P50)
			}
		})
	}
}

// TestColdMissesAllGoToOrigin: nodes that start together with nothing to
// coordinate them all miss at once, so every one reads the origin.
func TestColdMissesAllGoToOrigin(t *testing.T) {
	sc := mustParse(t, `{"name": "cold", "dataset": {"size": "32MiB"},
		"regions": [{"name": "r", "nodes": 8}], "origin": {"region": "r", "bandwidth": "1Gbit/s"}}`)
	rep := mustRun(t, sc, Options{Strategies: []string{PeersUncoordinated, Coordinated}})
	if got := rep.Strategy(PeersUncoordinated).OriginBytesRatio; !near(got, 8, 1e-9) {
		t.Errorf("uncoordinated reads %v × S, want 8", got)
	}
	if got := rep.Strategy(Coordinated).OriginBytesRatio; !near(got, 1, 1e-9) {
		t.Errorf("coordinated reads %v × S, want 1", got)
	}
}

// TestStaggeredPeersHelp: when nodes start apart, latecomers find the
// blocks at peers, and uncoordinated peers read the origin less than
// all-origin.
func TestStaggeredPeersHelp(t *testing.T) {
	sc := mustParse(t, `{"name": "stagger", "dataset": {"size": "64MiB"},
		"regions": [{"name": "r", "nodes": 10, "nic": [{"share": 1, "bandwidth": "10Gbit/s"}]}],
		"origin": {"region": "r", "bandwidth": "200Mbit/s"}, "pins": {"start": "staggered", "spread": "60s"}}`)
	rep := mustRun(t, sc, Options{Seed: 3, Strategies: []string{PeersUncoordinated}})
	if got := rep.Strategies[0].OriginBytesRatio; got >= 5 || got < 1 {
		t.Errorf("staggered uncoordinated reads %v × S, want between 1 and 5", got)
	}
}

// TestFailures: crashed nodes never finish and are counted; a node
// stopped for a while finishes; a crashed owner's pieces are taken over,
// so every survivor finishes and the origin is read about once per
// region.
func TestFailures(t *testing.T) {
	for _, mode := range []Mode{ModeBlock, ModePiece} {
		t.Run(mode.String(), func(t *testing.T) {
			sc := threeRegionScenario(t, "256MiB", 30, "1Gbit/s", `{"start": "together"}`,
				`[{"count": 3, "at": "2s", "kind": "crash"}, {"count": 2, "at": "1s", "kind": "stop", "for": "3s"}]`)
			rep := mustRun(t, sc, Options{Seed: 11, Mode: mode})
			for _, s := range rep.Strategies {
				if s.Failed != 3 || s.Finished != 27 {
					t.Errorf("%s: %d failed, %d finished; want 3 and 27", s.Name, s.Failed, s.Finished)
				}
			}
			co := rep.Strategy(Coordinated)
			for i, v := range co.OriginBytesRatioPerRegion {
				if v < 1-1e-9 || v > 1.1 {
					t.Errorf("coordinated region %d reads %v × S with takeovers, want 1 to 1.1", i, v)
				}
			}
			// Takeover waits for the progress timeout: the crash shows.
			noFail := mustRun(t, threeRegionScenario(t, "256MiB", 30, "1Gbit/s", `{"start": "together"}`, `[]`), Options{Seed: 11, Mode: mode})
			if co.TimeToPinS.Max <= noFail.Strategy(Coordinated).TimeToPinS.Max {
				t.Errorf("crashes cost nothing: max %v vs %v without", co.TimeToPinS.Max, noFail.Strategy(Coordinated).TimeToPinS.Max)
			}
		})
	}
}

func TestDeterministic(t *testing.T) {
	sc := threeRegionScenario(t, "64MiB", 12, "1Gbit/s", `{"start": "staggered", "spread": "5s"}`, `[{"fraction": 0.2, "at": "1s"}]`)
	a, b := mustRun(t, sc, Options{Seed: 5}), mustRun(t, sc, Options{Seed: 5})
	for i := range a.Strategies {
		x, y := a.Strategies[i], b.Strategies[i]
		x.WallS, y.WallS = 0, 0
		if fmt.Sprint(x) != fmt.Sprint(y) {
			t.Fatalf("same seed, different results:\n%+v\n%+v", x, y)
		}
	}
}

func TestUnknownStrategy(t *testing.T) {
	sc := threeRegionScenario(t, "64MiB", 3, "1Gbit/s", `{"start": "together"}`, `[]`)
	if _, err := Run(context.Background(), sc, Options{Strategies: []string{"magic"}}); err == nil {
		t.Fatal("unknown strategy accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, sc, Options{}); err == nil {
		t.Fatal("cancelled run succeeded")
	}
}
