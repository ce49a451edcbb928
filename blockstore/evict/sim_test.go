package evict

import (
	"fmt"
	"testing"
)

// storeSim sizes a simulated cache as the disk store runs it: evict above
// 95% down to 90% of capacity.
var storeSim = SimConfig{Capacity: 1000, BlockSize: 1, High: 0.95, Low: 0.90}

// TestDefaultBeatsLRU holds the chosen policy to the measurement that chose
// it: on epochs over a dataset 1.5× the cache, LRU keeps nothing while the
// default keeps most of what fits.
func TestDefaultBeatsLRU(t *testing.T) {
	traces := []struct {
		trace    Trace
		minGain  float64 // default's hit ratio minus LRU's
		minOfOpt float64 // default's hit ratio as a fraction of the optimum
	}{
		{SequentialEpochs(1500, 5), 0.4, 0.85},
		{ShuffledEpochs(1500, 5, 7), 0.02, 0.4},
	}
	for _, tt := range traces {
		t.Run(tt.trace.Name, func(t *testing.T) {
			lru := Simulate(NewLRU(), storeSim, tt.trace).HitRatio()
			def := Simulate(New(Default, storeSim.Capacity), storeSim, tt.trace).HitRatio()
			opt := Belady(storeSim, tt.trace).HitRatio()
			t.Logf("lru %.3f, %s %.3f, optimal %.3f", lru, Default, def, opt)
			if def-lru < tt.minGain {
				t.Errorf("%s hit ratio %.3f is not %.2f above LRU's %.3f", Default, def, tt.minGain, lru)
			}
			if def < tt.minOfOpt*opt {
				t.Errorf("%s hit ratio %.3f is below %.2f of the optimum %.3f", Default, def, tt.minOfOpt, opt)
			}
		})
	}
}

// TestFitsInCache: when the dataset fits, every policy hits on every read
// after the first epoch, and the optimum bounds every policy.
func TestFitsInCache(t *testing.T) {
	for _, tr := range []Trace{SequentialEpochs(800, 3), ShuffledEpochs(800, 3, 1)} {
		for _, name := range Names() {
			r := Simulate(New(name, storeSim.Capacity), storeSim, tr)
			if r.Misses != 0 {
				t.Errorf("%s on %s: %d misses after warm-up", name, tr.Name, r.Misses)
			}
		}
	}
	big := ShuffledEpochs(1500, 3, 2)
	opt := Belady(SimConfig{Capacity: storeSim.Capacity, BlockSize: 1}, big).HitRatio()
	for _, name := range Names() {
		if r := Simulate(New(name, storeSim.Capacity), storeSim, big).HitRatio(); r > opt {
			t.Errorf("%s beats the optimum: %.3f > %.3f", name, r, opt)
		}
	}
}

// BenchmarkHitRatio reports each policy's hit ratio (after the first epoch)
// on the traces of docs/eviction.md; the time per op is the simulation's.
func BenchmarkHitRatio(b *testing.B) {
	const c = 4096
	cfg := SimConfig{Capacity: c, BlockSize: 1, High: 0.95, Low: 0.90}
	traces := map[string]Trace{
		"a-sequential-1.5x": SequentialEpochs(c*3/2, 5),
		"b-shuffled-1.5x":   ShuffledEpochs(c*3/2, 5, 1),
		"c-shuffled-3x":     ShuffledEpochs(c*3, 5, 2),
		"d-hotmix-1.5x":     HotMix(c*3/2, c/4, 5, 3),
		"e-sharded-1.5x":    ShardedEpochs(c*3/2, 64, 5, 4),
	}
	for _, tn := range []string{"a-sequential-1.5x", "b-shuffled-1.5x", "c-shuffled-3x", "d-hotmix-1.5x", "e-sharded-1.5x"} {
		tr := traces[tn]
		for _, name := range Names() {
			b.Run(fmt.Sprintf("%s/%s", tn, name), func(b *testing.B) {
				var r Result
				for b.Loop() {
					r = Simulate(New(name, c), cfg, tr)
				}
				b.ReportMetric(100*r.HitRatio(), "hit%")
			})
		}
		b.Run(tn+"/optimal", func(b *testing.B) {
			var r Result
			for b.Loop() {
				r = Belady(cfg, tr)
			}
			b.ReportMetric(100*r.HitRatio(), "hit%")
		})
	}
}
