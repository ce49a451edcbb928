package evict

import (
	"math/rand/v2"
	"strconv"
)

// Trace is a sequence of reads of equally sized blocks, named by number.
type Trace struct {
	Name   string
	Blocks int   // distinct blocks
	Reads  []int // block numbers in read order
	Warmup int   // leading reads not counted (the cold first epoch)
}

// SequentialEpochs reads blocks 0..n-1 in order, epochs times: a training
// job that does not shuffle, or one that reads a dataset file by file.
func SequentialEpochs(n, epochs int) Trace {
	t := Trace{Name: "sequential epochs", Blocks: n, Warmup: n}
	for range epochs {
		for i := range n {
			t.Reads = append(t.Reads, i)
		}
	}
	return t
}

// ShuffledEpochs reads every block once per epoch in a fresh random order.
func ShuffledEpochs(n, epochs int, seed uint64) Trace {
	rng := rand.New(rand.NewPCG(seed, seed))
	t := Trace{Name: "shuffled epochs", Blocks: n, Warmup: n}
	for range epochs {
		t.Reads = append(t.Reads, rng.Perm(n)...)
	}
	return t
}

// ShardedEpochs reads runs of run consecutive blocks (tar shards, record
// files) in a fresh random order each epoch, each run front to back: how
// WebDataset-style loaders read.
func ShardedEpochs(n, run, epochs int, seed uint64) Trace {
	rng := rand.New(rand.NewPCG(seed, seed^2))
	t := Trace{Name: "sharded epochs", Blocks: n, Warmup: n}
	shards := (n + run - 1) / run
	for range epochs {
		for _, sh := range rng.Perm(shards) {
			for b := sh * run; b < min(n, (sh+1)*run); b++ {
				t.Reads = append(t.Reads, b)
			}
		}
	}
	return t
}

// HotMix interleaves shuffled epochs over n blocks with reads of a hot set
// of hot further blocks (uniform), one hot read per dataset read: a job's
// scan beside a small set everyone keeps reading (metadata, a validation
// split).
func HotMix(n, hot, epochs int, seed uint64) Trace {
	rng := rand.New(rand.NewPCG(seed, seed^1))
	t := Trace{Name: "shuffled epochs + hot set", Blocks: n + hot, Warmup: 2 * n}
	for range epochs {
		for _, b := range rng.Perm(n) {
			t.Reads = append(t.Reads, b, n+rng.IntN(hot))
		}
	}
	return t
}

// SimConfig sizes a simulated cache. With High and Low below 1 the cache
// evicts as the store does: once above High×Capacity, down to Low×Capacity.
type SimConfig struct {
	Capacity  int64
	BlockSize int64
	High, Low float64
}

// Result counts the hits and misses after a trace's warm-up.
type Result struct {
	Policy       string
	Hits, Misses int64
}

// HitRatio is hits over counted reads.
func (r Result) HitRatio() float64 {
	if r.Hits+r.Misses == 0 {
		return 0
	}
	return float64(r.Hits) / float64(r.Hits+r.Misses)
}

// Simulate replays t against p: a hit calls Hit, a miss Add and then Evict
// until the cache is back under its budget.
func Simulate(p Policy, cfg SimConfig, t Trace) Result {
	if cfg.High == 0 {
		cfg.High, cfg.Low = 1, 1
	}
	high := int64(cfg.High * float64(cfg.Capacity))
	low := int64(cfg.Low * float64(cfg.Capacity))
	p.SetCapacity(low)
	keys := make([]string, t.Blocks)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	res := Result{Policy: p.Name()}
	for i, b := range t.Reads {
		hit := p.Contains(keys[b])
		if hit {
			p.Hit(keys[b])
		} else {
			p.Add(keys[b], cfg.BlockSize)
			if p.Bytes() > high {
				for p.Bytes() > low {
					if _, _, ok := p.Evict(); !ok {
						break
					}
				}
			}
		}
		if i < t.Warmup {
			continue
		}
		if hit {
			res.Hits++
		} else {
			res.Misses++
		}
	}
	return res
}
