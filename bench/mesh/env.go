package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/meshcache/meshcache/bench/mesh/baseline"
	"github.com/meshcache/meshcache/mesh/exchange"
)

// env holds the connections every case runs over, set up once.
type env struct {
	bytes int64
	raw   *baseline.QUIC
	quic  *p2pPair
	tcp   *p2pPair
	// quicAlt and tcpAlt are exchange clients with the -alt-* settings.
	quicAlt, tcpAlt *exchange.Client
	closeAll        []func() error
}

func newEnv(ctx context.Context, cfg config, dir string, log *slog.Logger) (*env, error) {
	n := cfg.mib * 1024 / cfg.blockKiB
	held, err := randomBlocks(n, cfg.blockKiB*1024)
	if err != nil {
		return nil, err
	}
	raw := make([][]byte, n)
	for i, b := range held {
		raw[i] = b.RawData()
	}
	e := &env{bytes: int64(n) * int64(cfg.blockKiB) * 1024}
	ccfg := exchange.ClientConfig{BatchSize: cfg.batch, InFlight: cfg.inFlight}
	if e.raw, err = baseline.NewQUIC(ctx, baseline.QUICConfig{Blocks: raw}); err != nil {
		return nil, err
	}
	e.closeAll = append(e.closeAll, e.raw.Close)
	for _, t := range []struct {
		dst    **p2pPair
		listen string
		want   string
	}{
		{&e.quic, "/ip4/127.0.0.1/udp/0/quic-v1", "quic-v1"},
		{&e.tcp, "/ip4/127.0.0.1/tcp/0", "tcp"},
	} {
		p, err := newP2PPair(ctx, filepath.Join(dir, t.want), t.listen, held, ccfg, log)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("%s pair: %w", t.want, err)
		}
		e.closeAll = append(e.closeAll, p.Close)
		if got := p.transport(); got != t.want {
			e.Close()
			return nil, fmt.Errorf("pair over %s connected with %q", t.want, got)
		}
		*t.dst = p
	}
	if cfg.altBatch != 0 || cfg.altInFlight != 0 {
		alt := exchange.ClientConfig{BatchSize: cfg.altBatch, InFlight: cfg.altInFlight}
		if e.quicAlt, err = e.quic.newClient(alt, log); err == nil {
			e.tcpAlt, err = e.tcp.newClient(alt, log)
		}
		if err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

func (e *env) Close() error {
	for _, c := range e.closeAll {
		_ = c()
	}
	return nil
}

// benchCase is one way of moving every block from server to client.
type benchCase struct {
	name, what string
	run        func(context.Context) error
}

// caseNames lists every case in report order; cases builds them.
func caseNames() []string {
	return []string{"quic", "quic+sha", "quic-N", "quic-N+sha", "p2p-quic", "mesh-quic", "mesh-quic-alt", "tcp", "tcp-N", "tcp-N+sha", "mesh-tcp", "mesh-tcp-alt"}
}

func (e *env) cases(cfg config) []benchCase {
	n := cfg.streams
	all := []benchCase{
		{"quic", "raw quic-go, 1 stream", func(ctx context.Context) error { return e.raw.Run(ctx, 1, false) }},
		{"quic+sha", "raw quic-go, 1 stream, SHA-256 of each block", func(ctx context.Context) error { return e.raw.Run(ctx, 1, true) }},
		{"quic-N", fmt.Sprintf("raw quic-go, %d streams", n), func(ctx context.Context) error { return e.raw.Run(ctx, n, false) }},
		{"quic-N+sha", fmt.Sprintf("raw quic-go, %d streams, SHA-256 of each block", n), func(ctx context.Context) error { return e.raw.Run(ctx, n, true) }},
		{"p2p-quic", "raw go-libp2p QUIC stream, 1 stream", func(ctx context.Context) error { return e.quic.runRaw(ctx, 1, false) }},
		{"mesh-quic", "meshcache exchange over QUIC (verified)", e.quic.runExchange},
		{"tcp", "raw go-libp2p TCP+Noise+Yamux, 1 stream", func(ctx context.Context) error { return e.tcp.runRaw(ctx, 1, false) }},
		{"tcp-N", fmt.Sprintf("raw go-libp2p TCP+Noise+Yamux, %d streams", n), func(ctx context.Context) error { return e.tcp.runRaw(ctx, n, false) }},
		{"tcp-N+sha", fmt.Sprintf("raw go-libp2p TCP+Noise+Yamux, %d streams, SHA-256 of each block", n), func(ctx context.Context) error { return e.tcp.runRaw(ctx, n, true) }},
		{"mesh-tcp", "meshcache exchange over TCP+Noise+Yamux (verified)", e.tcp.runExchange},
	}
	if e.quicAlt != nil {
		alt := fmt.Sprintf(" with -alt-batch %d -alt-inflight %d", cfg.altBatch, cfg.altInFlight)
		all = slices.Insert(all, 6, benchCase{"mesh-quic-alt", "meshcache exchange over QUIC" + alt,
			func(ctx context.Context) error { return e.quic.fetchWith(ctx, e.quicAlt) }})
		all = append(all, benchCase{"mesh-tcp-alt", "meshcache exchange over TCP" + alt,
			func(ctx context.Context) error { return e.tcp.fetchWith(ctx, e.tcpAlt) }})
	}
	var out []benchCase
	for _, c := range all {
		if cfg.only == nil || cfg.only[c.name] {
			out = append(out, c)
		}
	}
	return out
}

// sample is one timed run of a case.
type sample struct {
	mbps  float64 // 10^6 bytes per second of wall time
	cores float64 // process CPU time (user+system) over wall time
}

func measure(ctx context.Context, c benchCase, bytes int64) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cpu0 := cpuTime()
	start := time.Now()
	// The label follows the case's goroutines (not the transports' own),
	// so a -cpuprofile tells what the case's readers spend on hashing.
	var err error
	pprof.Do(ctx, pprof.Labels("case", c.name), func(ctx context.Context) { err = c.run(ctx) })
	if err != nil {
		return sample{}, err
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	return sample{mbps: float64(bytes) / wall.Seconds() / 1e6, cores: cpu.Seconds() / wall.Seconds()}, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
