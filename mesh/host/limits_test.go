package host_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/host"
)

// TestPeerStreamLimit: the per-peer stream limit from the config is what
// the resource manager enforces.
func TestPeerStreamLimit(t *testing.T) {
	const limit = 4
	for _, listen := range []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"} {
		t.Run(listen, func(t *testing.T) {
			a := meshtest.NewHost(t, t.TempDir(), nil, listen)
			b, err := host.New(context.Background(), host.Config{
				DataDir: t.TempDir(), Listen: []string{listen}, Logger: meshtest.Quiet(),
				Limits: host.ResourceLimits{PeerStreams: limit},
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { b.Close() })
			b.SetStreamHandler("/test/hold", func(s network.Stream) {
				io.Copy(io.Discard, s) // hold the stream open until the client closes
				s.Close()
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := a.Connect(ctx, peer.AddrInfo{ID: b.Host.ID(), Addrs: b.Addrs()}); err != nil {
				t.Fatal(err)
			}
			served := 0
			for i := 0; i < 2*limit; i++ {
				s, err := a.NewStream(ctx, b.Host.ID(), "/test/hold")
				if err != nil {
					continue
				}
				defer s.Reset()
				// The stream is only accepted once the protocol is
				// negotiated; a byte round trip proves it was.
				if _, err := s.Write([]byte{1}); err != nil {
					continue
				}
				_ = s.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
				if _, err := s.Read(make([]byte, 1)); err == nil || isTimeout(err) {
					served++
				}
			}
			if served != limit {
				t.Fatalf("%d streams held open, want the limit %d", served, limit)
			}
		})
	}
}

func isTimeout(err error) bool {
	type timeout interface{ Timeout() bool }
	te, ok := err.(timeout)
	return ok && te.Timeout()
}
