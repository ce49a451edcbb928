package main

import (
	"fmt"
	"slices"
	"time"
)

// run is one timed execution of one side of a comparison.
type run struct {
	Wall      time.Duration
	CPU       time.Duration // CPU time of the server or daemon measured
	ClientCPU time.Duration // CPU time of the other side (curl, cat, the bench's own client, the serving peer), if any
	Bytes     int64
}

// rate is the run's throughput in bytes per second.
func (r run) rate() float64 { return float64(r.Bytes) / r.Wall.Seconds() }

// pair holds the interleaved runs of a measured side (A) and its baseline
// (B), one of each per round.
type pair struct {
	A, B []run
}

func (p *pair) add(a, b run) {
	p.A = append(p.A, a)
	p.B = append(p.B, b)
}

// ratio is the median over rounds of A's throughput over B's in the same
// round (a noisy neighbour slows both sides of a round alike).
func (p *pair) ratio() float64 {
	r := make([]float64, len(p.A))
	for i := range p.A {
		r[i] = p.A[i].rate() / p.B[i].rate()
	}
	return median(r)
}

func medianRate(rs []run) float64 {
	return median(mapRuns(rs, run.rate))
}

func medianWall(rs []run) time.Duration {
	return time.Duration(median(mapRuns(rs, func(r run) float64 { return float64(r.Wall) })))
}

func medianCPU(rs []run) time.Duration {
	return time.Duration(median(mapRuns(rs, func(r run) float64 { return float64(r.CPU) })))
}

func medianClientCPU(rs []run) time.Duration {
	return time.Duration(median(mapRuns(rs, func(r run) float64 { return float64(r.ClientCPU) })))
}

func mapRuns(rs []run, f func(run) float64) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = f(r)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// gbps formats bytes per second as GB/s (or MB/s below 1 GB/s).
func gbps(bps float64) string {
	if bps < 1e9 {
		return fmt.Sprintf("%.0f MB/s", bps/1e6)
	}
	return fmt.Sprintf("%.2f GB/s", bps/1e9)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// cpuShare is CPU time over wall time, in cores.
func cpuShare(cpu, wall time.Duration) string {
	return fmt.Sprintf("%.2f", cpu.Seconds()/wall.Seconds())
}
