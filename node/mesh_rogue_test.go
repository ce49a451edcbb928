package node

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/discovery"
	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/mesh/host"
)

// rogue is a mesh participant assembled from the mesh packages rather than
// a daemon, so that a test decides how it misbehaves: which cluster key it
// proves (if any), whom its DHT trusts and what its block server answers.
// Everything it runs is real: a libp2p host on loopback QUIC, the
// cluster-key handshake, kad-dht under the mesh's prefix and the block
// protocol.
type rogue struct {
	t    testing.TB
	h    *host.Host
	auth *auth.Authenticator // nil: the rogue never handshakes
	dht  *discovery.Discovery
	// requests counts block requests that reached the rogue's server.
	requests atomic.Int64
}

// newRogue starts a host; with keyFiles it proves those cluster keys on
// every connection, without any it never starts a handshake.
func newRogue(t testing.TB, keyFiles ...string) *rogue {
	t.Helper()
	verdicts := auth.NewVerdicts(0)
	log := testLogger(t).With("rogue", true)
	h, err := host.New(context.Background(), host.Config{
		DataDir: t.TempDir(), Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, Gater: verdicts, Logger: log,
	})
	if err != nil {
		t.Fatalf("rogue host: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	r := &rogue{t: t, h: h}
	if len(keyFiles) == 0 {
		return r
	}
	keys, err := auth.LoadKeys(keyFiles...)
	if err != nil {
		t.Fatal(err)
	}
	if r.auth, err = auth.New(h, auth.Config{Keys: keys, Verdicts: verdicts, Logger: log}); err != nil {
		t.Fatalf("rogue authenticator: %v", err)
	}
	t.Cleanup(func() { r.auth.Close() })
	return r
}

// id is the rogue's peer ID.
func (r *rogue) id() peer.ID { return r.h.ID() }

// startDHT runs a DHT on the rogue's host under the mesh's prefix;
// r.dht.Bootstrap joins it through cfg.Bootstrap. cfg.Membership decides
// whom the rogue's DHT talks to; nil means its own authenticator, as a
// daemon's does.
func (r *rogue) startDHT(cfg discovery.Config) *discovery.Discovery {
	r.t.Helper()
	if cfg.Membership == nil {
		cfg.Membership = r.auth
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(r.t).With("rogue", true)
	}
	d, err := discovery.New(r.h, cfg)
	if err != nil {
		r.t.Fatalf("rogue DHT: %v", err)
	}
	r.t.Cleanup(func() { d.Close() })
	r.dht = d
	return d
}

// serveBlocks answers /meshcache/blocks/1 from g, to authenticated members
// only when the rogue has an authenticator, and counts the requests.
func (r *rogue) serveBlocks(g exchange.Getter) *exchange.Server {
	r.t.Helper()
	wrap := func(next network.StreamHandler) network.StreamHandler {
		if r.auth != nil {
			next = r.auth.Wrap(next)
		}
		return func(s network.Stream) {
			r.requests.Add(1)
			next(s)
		}
	}
	srv, err := exchange.NewServer(r.h, exchange.ServerConfig{Blocks: g, Wrap: wrap, Logger: testLogger(r.t).With("rogue", true)})
	if err != nil {
		r.t.Fatalf("rogue block server: %v", err)
	}
	r.t.Cleanup(func() { srv.Close() })
	return srv
}

// client is a block client on the rogue's host.
func (r *rogue) client(cfg exchange.ClientConfig) *exchange.Client {
	r.t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(r.t).With("rogue", true)
	}
	c, err := exchange.NewClient(r.h, cfg)
	if err != nil {
		r.t.Fatalf("rogue block client: %v", err)
	}
	return c
}

// daemonInfo is a daemon's peer ID and addresses, from GET /v1/id.
func daemonInfo(ctx context.Context, t testing.TB, d *testDaemon) (api.Identity, peer.AddrInfo) {
	t.Helper()
	id, err := d.c.ID(ctx)
	if err != nil {
		t.Fatalf("daemon id: %v", err)
	}
	infos, err := discovery.ParseBootstrap(id.Addrs)
	if err != nil || len(infos) != 1 {
		t.Fatalf("daemon addresses %v: %v", id.Addrs, err)
	}
	return id, infos[0]
}

// trustAll is the membership of a stranger that wants to talk to everybody:
// it checks nothing, so every refusal a test sees comes from the members.
type trustAll struct{}

func (trustAll) IsAuthenticated(peer.ID) bool                    { return true }
func (trustAll) WaitAuthenticated(context.Context, peer.ID) bool { return true }

// metricValue is the value of an unlabelled metric in a Prometheus text
// exposition, and whether it is there.
func metricValue(exposition []byte, name string) (string, bool) {
	for line := range strings.Lines(string(exposition)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
			return v, true
		}
	}
	return "", false
}
