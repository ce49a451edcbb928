package sim

import (
	"fmt"
	"math"
	"testing"
)

// modeTolerance is the largest relative difference between piece mode
// (fluid availability, quantized steps) and block mode allowed on p50
// and max time to pin and on origin bytes; docs/simulations.md states it.
const modeTolerance = 0.05

// TestPieceModeMatchesBlockMode measures piece mode's error against block
// mode at N = 100 and 1,000, with mixed NICs, staggered starts and
// crashes, for every strategy.
func TestPieceModeMatchesBlockMode(t *testing.T) {
	for _, tc := range []struct {
		n           int
		size        string
		pieceBlocks int
	}{{100, "256MiB", 8}, {100, "512MiB", 64}, {1000, "64MiB", 8}} {
		t.Run(fmt.Sprintf("N=%d/S=%s/piece=%d", tc.n, tc.size, tc.pieceBlocks), func(t *testing.T) {
			if testing.Short() && tc.n > 100 {
				t.Skip("block mode at N=1000 in -short")
			}
			sc := threeRegionScenario(t, tc.size, tc.n, "4Gbit/s", `{"start": "staggered", "spread": "2s"}`,
				`[{"fraction": 0.02, "at": "1s", "kind": "crash"}]`)
			sc.Dataset.PieceBlocks = tc.pieceBlocks
			block := mustRun(t, sc, Options{Seed: 1, Mode: ModeBlock})
			piece := mustRun(t, sc, Options{Seed: 1, Mode: ModePiece})
			for i, b := range block.Strategies {
				p := piece.Strategies[i]
				for _, m := range []struct {
					what      string
					got, want float64
				}{
					{"p50", p.TimeToPinS.P50, b.TimeToPinS.P50},
					{"max", p.TimeToPinS.Max, b.TimeToPinS.Max},
					{"origin bytes", p.OriginBytesRatio, b.OriginBytesRatio},
				} {
					diff := math.Abs(m.got-m.want) / m.want
					t.Logf("%s %s: block %.4g piece %.4g (%.2f%%)", b.Name, m.what, m.want, m.got, 100*diff)
					if diff > modeTolerance {
						t.Errorf("%s %s: piece mode %.4g vs block mode %.4g, %.1f%% apart (tolerance %.0f%%)", b.Name, m.what, m.got, m.want, 100*diff, 100*modeTolerance)
					}
				}
				if p.Failed != b.Failed {
					t.Errorf("%s: %d failed in piece mode, %d in block mode", b.Name, p.Failed, b.Failed)
				}
			}
		})
	}
}
