package exchange_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/bench/mesh/baseline"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/exchange"
)

// benchMiB is what each contestant moves per iteration: large enough that
// flow-control windows and stream set-up stop mattering.
const benchMiB = 128

// contestant is one way of moving the held blocks; an iteration runs every
// contestant once, in turn, so that the ratios compare runs that saw the
// same load on a shared machine.
type contestant struct {
	name string
	run  func(context.Context) error
}

// race runs the contestants interleaved and reports each one's MB/s and
// its ratio to the first (the baseline).
func race(b *testing.B, bytes int64, cs ...contestant) {
	ctx := context.Background()
	for _, c := range cs { // warm-up: windows grow, buffers are allocated
		if err := c.run(ctx); err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
	}
	took := make([]time.Duration, len(cs))
	b.ResetTimer()
	for round := 0; b.Loop(); round++ {
		// The first contestant rotates, so none always runs right after
		// the same other one.
		for k := range cs {
			i := (round + k) % len(cs)
			start := time.Now()
			if err := cs[i].run(ctx); err != nil {
				b.Fatalf("%s: %v", cs[i].name, err)
			}
			took[i] += time.Since(start)
		}
	}
	for i, c := range cs {
		mbps := float64(bytes) * float64(b.N) / took[i].Seconds() / 1e6
		b.ReportMetric(mbps, c.name+"-MB/s")
		if i > 0 {
			b.ReportMetric(took[0].Seconds()/took[i].Seconds(), c.name+"/"+cs[0].name)
		}
	}
}

func rawOf(bs []blocks.Block) [][]byte {
	out := make([][]byte, len(bs))
	for i, blk := range bs {
		out[i] = blk.RawData()
	}
	return out
}

func fetchAll(cl *exchange.Client, p peer.ID, want []cid.Cid) func(context.Context) error {
	return func(ctx context.Context) error {
		missing, err := cl.Fetch(ctx, p, want, func(blocks.Block) error { return nil })
		if err == nil && len(missing) != 0 {
			return fmt.Errorf("%d blocks missing", len(missing))
		}
		return err
	}
}

// BenchmarkExchangeVsQUIC fetches 1 MiB blocks through the exchange over
// QUIC (verified on arrival, dropped) against raw quic-go v0.64 on
// loopback with mesh/host's windows: one stream, one stream hashing each
// block with SHA-256 (the verification's own cost), and four streams.
// Ratios are to raw quic-go's single stream.
func BenchmarkExchangeVsQUIC(b *testing.B) {
	held := randomBlocks(b, benchMiB, 1<<20)
	raw, err := baseline.NewQUIC(context.Background(), baseline.QUICConfig{Blocks: rawOf(held)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	_, _, cl, server, _ := pair(b, exchange.ServerConfig{}, exchange.ClientConfig{}, held...)
	race(b, benchMiB<<20,
		contestant{"quic", func(ctx context.Context) error { return raw.Run(ctx, 1, false) }},
		contestant{"quic+sha", func(ctx context.Context) error { return raw.Run(ctx, 1, true) }},
		contestant{"quic-4", func(ctx context.Context) error { return raw.Run(ctx, 4, false) }},
		contestant{"exchange", fetchAll(cl, server.id(), cidsOf(held))},
	)
}

// BenchmarkExchangeVsTCP is the TCP fallback's: the exchange over
// TCP+Noise+Yamux against raw go-libp2p streams over the same connection
// (one, and four at once).
func BenchmarkExchangeVsTCP(b *testing.B) {
	held := randomBlocks(b, benchMiB, 1<<20)
	keys := meshtest.Keys(b)
	server, client := newNode(b, keys, meshtest.TCPAddr), newNode(b, keys, meshtest.TCPAddr)
	srv, err := exchange.NewServer(server, exchange.ServerConfig{Blocks: newMemBlocks(held...), Wrap: server.auth.Wrap, Logger: meshtest.Quiet()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	cl, err := exchange.NewClient(client, exchange.ClientConfig{Logger: meshtest.Quiet()})
	if err != nil {
		b.Fatal(err)
	}
	data := rawOf(held)
	server.SetStreamHandler(rawProto, func(s network.Stream) {
		if err := baseline.Serve(s, data); err != nil {
			s.Reset()
		}
	})
	ctx := ctxT(b, 10*time.Second)
	if err := client.Connect(ctx, peer.AddrInfo{ID: server.id(), Addrs: server.Addrs()}); err != nil {
		b.Fatal(err)
	}
	if !client.auth.WaitAuthenticated(ctx, server.id()) || !server.auth.WaitAuthenticated(ctx, client.id()) {
		b.Fatal("members did not authenticate each other")
	}
	rawStreams := func(n int) func(context.Context) error {
		return func(ctx context.Context) error {
			return baseline.Split(len(data), n, func(first, k int) error {
				s, err := client.NewStream(ctx, server.id(), rawProto)
				if err != nil {
					return err
				}
				defer s.Close()
				return baseline.Fetch(s, first, k, 1<<20, false)
			})
		}
	}
	race(b, benchMiB<<20,
		contestant{"tcp", rawStreams(1)},
		contestant{"tcp-4", rawStreams(4)},
		contestant{"exchange", fetchAll(cl, server.id(), cidsOf(held))},
	)
}
