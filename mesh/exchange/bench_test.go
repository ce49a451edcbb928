package exchange_test

import (
	"context"
	"crypto/sha256"
	"io"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/meshcache/meshcache/mesh/exchange"
)

const rawProto = "/meshcache/bench-raw/1"

// BenchmarkFetchVsRaw fetches 256 MiB of 1 MiB blocks from a peer holding
// them in memory, over QUIC between two authenticated hosts, and in the
// same iteration reads the same bytes from a raw libp2p stream written in
// 1 MiB writes over the same connection. Interleaving the two keeps the
// ratio meaningful on a shared, noisy machine.
func BenchmarkFetchVsRaw(b *testing.B) {
	held := randomBlocks(b, 256, 1<<20)
	total := float64(len(held) << 20)
	_, _, cl, server, client := pair(b, exchange.ServerConfig{}, exchange.ClientConfig{}, held...)
	server.SetStreamHandler(rawProto, server.auth.Wrap(func(s network.Stream) {
		defer s.Close()
		for _, blk := range held {
			if _, err := s.Write(blk.RawData()); err != nil {
				s.Reset()
				return
			}
		}
	}))
	ctx := context.Background()
	want := cidsOf(held)
	buf := make([]byte, 1<<20)
	// raw reads the stream; rawVerify also hashes each 1 MiB as it
	// arrives: the floor the exchange's verification puts on this machine.
	raw := func(verify bool) time.Duration {
		start := time.Now()
		s, err := client.NewStream(ctx, server.id(), rawProto)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for range held {
			if _, err := io.ReadFull(s, buf); err != nil {
				b.Fatalf("raw read: %v", err)
			}
			if verify {
				sha256.Sum256(buf)
			}
		}
		return time.Since(start)
	}
	var rawTime, rawVerifyTime, exTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		rawTime += raw(false)
		rawVerifyTime += raw(true)
		start := time.Now()

		start = time.Now()
		missing, err := cl.Fetch(ctx, server.id(), want, func(blocks.Block) error {
			return nil // dropped, as the raw side drops its bytes
		})
		if err != nil || len(missing) != 0 {
			b.Fatalf("fetch: %d missing, %v", len(missing), err)
		}
		exTime += time.Since(start)
	}
	iters := float64(b.N)
	rawMBps := total * iters / rawTime.Seconds() / 1e6
	exMBps := total * iters / exTime.Seconds() / 1e6
	b.ReportMetric(rawMBps, "raw-MB/s")
	b.ReportMetric(exMBps, "fetch-MB/s")
	b.ReportMetric(exMBps/rawMBps, "ratio")
	b.ReportMetric(total*iters/rawVerifyTime.Seconds()/1e6, "raw+sha256-MB/s")
}
