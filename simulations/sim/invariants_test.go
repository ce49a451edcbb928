package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestInvariants runs random small scenarios in both modes and checks
// what must hold whatever the shape: every node is counted once, no
// strategy reads less than its minimum from the origin, every time is
// positive and no node beats the fastest NIC.
func TestInvariants(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 1))
	nics := []string{"100Mbit/s", "1Gbit/s", "10Gbit/s"}
	for k := range 300 {
		regions := 1 + rng.IntN(3)
		js := fmt.Sprintf(`{"name": "rand%d", "dataset": {"size": "%dMiB", "block_size": "%dKiB", "piece_blocks": %d}, "regions": [`,
			k, 8+rng.IntN(56), []int{256, 512, 1024}[rng.IntN(3)], 1+rng.IntN(16))
		for r := range regions {
			if r > 0 {
				js += ","
			}
			js += fmt.Sprintf(`{"name": "r%d", "nodes": %d, "nic": [{"share": 1, "bandwidth": %q}, {"share": 1, "bandwidth": %q}]}`,
				r, 1+rng.IntN(12), nics[rng.IntN(3)], nics[rng.IntN(3)])
		}
		pins := `{"start": "together"}`
		if rng.IntN(2) == 0 {
			pins = fmt.Sprintf(`{"start": "staggered", "spread": "%dms"}`, 1+rng.IntN(3000))
		}
		js += fmt.Sprintf(`], "intra_region": {"latency": "%dus", "bandwidth": %q}, "inter_region": {"latency": "%dms", "bandwidth": %q},
			"origin": {"region": "r0", "bandwidth": %q}, "pins": %s, "cross_region": %v,
			"failures": [{"count": 1, "at": "%dms", "kind": %q, "for": %q}]}`,
			rng.IntN(2000), []string{"0bit/s", "5Gbit/s"}[rng.IntN(2)], rng.IntN(200), []string{"0bit/s", "2Gbit/s"}[rng.IntN(2)],
			nics[rng.IntN(3)], pins, rng.IntN(2) == 0, rng.IntN(2000), []string{"crash", "stop"}[k%2], []string{"0s", "1s"}[k%2])
		sc := mustParse(t, js)
		for _, mode := range []Mode{ModeBlock, ModePiece} {
			rep, err := Run(context.Background(), sc, Options{Seed: uint64(k), Mode: mode})
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", sc.Name, mode, err, js)
			}
			fastest := float64(sc.Dataset.Size) / (10e9 / 8)
			for _, s := range rep.Strategies {
				minimum := 1.0
				if s.Finished == 0 {
					minimum = 0 // the only node failed
				}
				switch s.Name {
				case AllOrigin:
					minimum = float64(s.Finished)
				case Coordinated:
					// Each region reads a copy, unless its only node failed.
					minimum = float64(len(sc.Regions) - s.Failed)
				}
				if s.Finished+s.Failed != sc.Nodes() || s.Failed > 1 {
					t.Errorf("%s %v %s: %d finished + %d failed of %d\n%s", sc.Name, mode, s.Name, s.Finished, s.Failed, sc.Nodes(), js)
				}
				if s.OriginBytesRatio < minimum*(1-1e-9) {
					t.Errorf("%s %v %s: origin ×%v below ×%v", sc.Name, mode, s.Name, s.OriginBytesRatio, minimum)
				}
				if s.Finished > 0 && (s.TimeToPinS.P50 <= 0 || s.TimeToPinS.Max < s.TimeToPinS.P50) {
					t.Errorf("%s %v %s: times %+v", sc.Name, mode, s.Name, s.TimeToPinS)
				}
				if s.Finished > 0 && s.TimeToPinS.P50 < fastest*(1-1e-9) {
					t.Errorf("%s %v %s: p50 %v beats the fastest NIC's %v", sc.Name, mode, s.Name, s.TimeToPinS.P50, fastest)
				}
			}
		}
	}
}
