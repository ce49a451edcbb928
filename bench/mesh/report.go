package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
)

// ratios compared in the report, numerator over denominator, each taken
// within a round and then the median over rounds.
var ratios = [][2]string{
	{"mesh-quic", "quic"},
	{"mesh-quic", "quic+sha"},
	{"mesh-quic", "quic-N"},
	{"mesh-quic", "quic-N+sha"},
	{"mesh-quic", "p2p-quic"},
	{"mesh-quic-alt", "mesh-quic"},
	{"mesh-quic-alt", "quic"},
	{"quic+sha", "quic"},
	{"quic-N+sha", "quic-N"},
	{"mesh-tcp", "tcp"},
	{"mesh-tcp", "tcp-N"},
	{"mesh-tcp", "tcp-N+sha"},
	{"tcp-N+sha", "tcp-N"},
	{"mesh-tcp-alt", "mesh-tcp"},
	{"mesh-tcp", "quic"},
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func report(out io.Writer, cfg config, cases []benchCase, results [][]sample) {
	host, _ := os.Hostname()
	fmt.Fprintf(out, "## meshcache block exchange vs raw transports\n\n")
	fmt.Fprintf(out, "`go run ./bench/mesh -mib %d -block-kib %d -runs %d -streams %d", cfg.mib, cfg.blockKiB, cfg.runs, cfg.streams)
	if cfg.batch != 0 || cfg.inFlight != 0 {
		fmt.Fprintf(out, " -batch %d -inflight %d", cfg.batch, cfg.inFlight)
	}
	if cfg.altBatch != 0 || cfg.altInFlight != 0 {
		fmt.Fprintf(out, " -alt-batch %d -alt-inflight %d", cfg.altBatch, cfg.altInFlight)
	}
	fmt.Fprintf(out, "` on %s (%d CPUs, %s); %d MiB per case per round, medians of %d interleaved rounds.\n\n",
		host, runtime.NumCPU(), runtime.Version(), cfg.mib, cfg.runs)
	fmt.Fprintf(out, "| case | what | MB/s (median) | min–max | cores used | CPU ms per MiB |\n|---|---|---:|---:|---:|---:|\n")
	idx := map[string]int{}
	for i, c := range cases {
		idx[c.name] = i
		var mbps, cores, cpuPerMiB []float64
		for _, r := range results {
			mbps = append(mbps, r[i].mbps)
			cores = append(cores, r[i].cores)
			// cores / (MiB/s) = CPU seconds per MiB.
			cpuPerMiB = append(cpuPerMiB, r[i].cores/(r[i].mbps*1e6/(1<<20))*1e3)
		}
		fmt.Fprintf(out, "| %s | %s | %.0f | %.0f–%.0f | %.2f | %.2f |\n", c.name, c.what, median(mbps),
			slices.Min(mbps), slices.Max(mbps), median(cores), median(cpuPerMiB))
	}
	fmt.Fprintf(out, "\n| ratio | median of per-round ratios | min–max |\n|---|---:|---:|\n")
	for _, rt := range ratios {
		a, okA := idx[rt[0]]
		b, okB := idx[rt[1]]
		if !okA || !okB {
			continue
		}
		var xs []float64
		for _, r := range results {
			xs = append(xs, r[a].mbps/r[b].mbps)
		}
		fmt.Fprintf(out, "| %s / %s | %.2f× | %.2f–%.2f |\n", rt[0], rt[1], median(xs), slices.Min(xs), slices.Max(xs))
	}
}
