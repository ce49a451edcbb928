// Command mesh benchmarks meshcache's block exchange (/meshcache/blocks/1)
// between two members on loopback against baselines measured in the same
// run: raw quic-go v0.64 streams (one and several, with and without SHA-256
// of each block on arrival) and raw go-libp2p streams over QUIC and over
// TCP+Noise+Yamux. Every case moves the same in-memory 1 MiB blocks; cases
// run interleaved (A B C … A B C …, the starting case rotating each round)
// after one warm-up round, and the report gives medians, CPU per byte, and
// ratios taken within each round. This machine is shared and noisy: only
// ratios from one run mean anything.
//
// Usage: go run ./bench/mesh [-mib 512] [-runs 5] [-streams 4] [-only case,...]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"

	"github.com/meshcache/meshcache/mesh/exchange"
)

type config struct {
	mib, blockKiB, runs, streams int
	batch, inFlight              int
	altBatch, altInFlight        int
	only                         map[string]bool
	cpuProfile                   string
	verbose                      bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("mesh", flag.ContinueOnError)
	var c config
	var only string
	fs.IntVar(&c.mib, "mib", 512, "MiB moved by each case in each round")
	fs.IntVar(&c.blockKiB, "block-kib", 1024, "block size in KiB")
	fs.IntVar(&c.runs, "runs", 5, "measured rounds (after one warm-up round)")
	fs.IntVar(&c.streams, "streams", 4, "streams of the multi-stream baselines")
	fs.IntVar(&c.batch, "batch", 0, "exchange ClientConfig.BatchSize (0: its default)")
	fs.IntVar(&c.inFlight, "inflight", 0, "exchange ClientConfig.InFlight (0: its default)")
	fs.IntVar(&c.altBatch, "alt-batch", 0, "with -alt-inflight: add cases mesh-quic-alt and mesh-tcp-alt, an exchange client with this BatchSize (0: default)")
	fs.IntVar(&c.altInFlight, "alt-inflight", 0, "InFlight of the -alt cases' client (0: default)")
	fs.StringVar(&only, "only", "", "comma-separated cases to run (default all: "+strings.Join(caseNames(), ",")+")")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the measured rounds to this file")
	fs.BoolVar(&c.verbose, "v", false, "log the hosts' messages")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.mib < 1 || c.blockKiB < 1 || c.blockKiB*1024 > exchange.MaxBlockSize || c.runs < 1 || c.streams < 1 {
		return c, fmt.Errorf("need -mib, -runs, -streams >= 1 and 1 <= -block-kib <= %d", exchange.MaxBlockSize/1024)
	}
	if c.mib*1024%c.blockKiB != 0 {
		return c, fmt.Errorf("-mib %d is not a whole number of %d KiB blocks", c.mib, c.blockKiB)
	}
	if only != "" {
		c.only = map[string]bool{}
		for _, s := range strings.Split(only, ",") {
			s = strings.TrimSpace(s)
			if !slices.Contains(caseNames(), s) {
				return c, fmt.Errorf("unknown case %q (cases: %s)", s, strings.Join(caseNames(), ","))
			}
			c.only[s] = true
		}
	}
	if (c.only["mesh-quic-alt"] || c.only["mesh-tcp-alt"]) && c.altBatch == 0 && c.altInFlight == 0 {
		return c, fmt.Errorf("the -alt cases need -alt-batch or -alt-inflight")
	}
	return c, nil
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	dir, err := os.MkdirTemp("", "meshcache-bench-mesh-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env, err := newEnv(ctx, cfg, dir, log)
	if err != nil {
		return err
	}
	defer env.Close()
	cases := env.cases(cfg)
	fmt.Fprintf(os.Stderr, "bench: %d MiB in %d KiB blocks per case, %d cases, 1 warm-up + %d rounds\n",
		cfg.mib, cfg.blockKiB, len(cases), cfg.runs)
	for _, c := range cases {
		if _, err := measure(ctx, c, env.bytes); err != nil {
			return fmt.Errorf("warm-up %s: %w", c.name, err)
		}
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	results := make([][]sample, cfg.runs)
	for r := range cfg.runs {
		results[r] = make([]sample, len(cases))
		for k := range cases {
			i := (r + k) % len(cases)
			s, err := measure(ctx, cases[i], env.bytes)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, cases[i].name, err)
			}
			results[r][i] = s
			fmt.Fprintf(os.Stderr, "round %d %-14s %7.1f MB/s %4.2f cores\n", r+1, cases[i].name, s.mbps, s.cores)
		}
	}
	report(out, cfg, cases, results)
	return nil
}
