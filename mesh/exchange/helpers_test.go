package exchange_test

import (
	"context"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/mesh/host"
)

type node struct {
	*host.Host
	auth *auth.Authenticator
}

func (n *node) id() peer.ID { return n.Host.Host.ID() }

// newNode starts a host on 127.0.0.1 (QUIC unless listen says otherwise)
// authenticated with keys.
func newNode(tb testing.TB, keys auth.Keys, listen ...string) *node {
	tb.Helper()
	m := meshtest.NewMember(tb, keys, 2*time.Second, listen...)
	return &node{Host: m.Host, auth: m.Auth}
}

// connect links a to b and waits until both have authenticated each other.
func connect(tb testing.TB, a, b *node) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, peer.AddrInfo{ID: b.id(), Addrs: b.Addrs()}); err != nil {
		tb.Fatal(err)
	}
	if !a.auth.WaitAuthenticated(ctx, b.id()) || !b.auth.WaitAuthenticated(ctx, a.id()) {
		tb.Fatal("members did not authenticate each other")
	}
	for _, c := range a.Network().ConnsToPeer(b.id()) {
		if tr := c.ConnState().Transport; tr != "quic-v1" {
			tb.Fatalf("transport %q, want quic-v1", tr)
		}
	}
}

// memBlocks is a Getter over a map that counts every call, so tests can
// assert the server consults nothing else.
type memBlocks struct {
	mu    sync.RWMutex
	m     map[cid.Cid]blocks.Block
	calls atomic.Int64
}

func newMemBlocks(bs ...blocks.Block) *memBlocks {
	m := &memBlocks{m: map[cid.Cid]blocks.Block{}}
	for _, b := range bs {
		m.m[b.Cid()] = b
	}
	return m
}

func (m *memBlocks) Get(_ context.Context, c cid.Cid) (blocks.Block, error) {
	m.calls.Add(1)
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.m[c]
	if !ok {
		return nil, format.ErrNotFound{Cid: c}
	}
	return b, nil
}

// randomBlocks makes n raw SHA-256 blocks of size bytes.
func randomBlocks(tb testing.TB, n, size int) []blocks.Block {
	tb.Helper()
	out := make([]blocks.Block, n)
	for i := range out {
		data := make([]byte, size)
		rand.Read(data)
		out[i] = blockOf(tb, data)
	}
	return out
}

func blockOf(tb testing.TB, data []byte) blocks.Block {
	tb.Helper()
	c, err := cid.V1Builder{Codec: cid.Raw, MhType: mh.SHA2_256}.Sum(data)
	if err != nil {
		tb.Fatal(err)
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func cidsOf(bs []blocks.Block) []cid.Cid {
	out := make([]cid.Cid, len(bs))
	for i, b := range bs {
		out[i] = b.Cid()
	}
	return out
}

// pair starts a serving node holding bs and a fetching node, connected.
func pair(tb testing.TB, scfg exchange.ServerConfig, ccfg exchange.ClientConfig, bs ...blocks.Block) (srv *exchange.Server, store *memBlocks, cl *exchange.Client, server, client *node) {
	tb.Helper()
	keys := meshtest.Keys(tb)
	server, client = newNode(tb, keys), newNode(tb, keys)
	store = newMemBlocks(bs...)
	scfg.Blocks = store
	scfg.Wrap = server.auth.Wrap
	scfg.Logger = meshtest.Quiet()
	srv, err := exchange.NewServer(server, scfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	ccfg.Logger = meshtest.Quiet()
	cl, err = exchange.NewClient(client, ccfg)
	if err != nil {
		tb.Fatal(err)
	}
	connect(tb, client, server)
	return srv, store, cl, server, client
}

// collector gathers delivered blocks.
type collector struct {
	mu  sync.Mutex
	got map[cid.Cid][]byte
}

func newCollector() *collector { return &collector{got: map[cid.Cid][]byte{}} }

func (c *collector) add(b blocks.Block) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got[b.Cid()] = b.RawData()
	return nil
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

func ctxT(tb testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	tb.Cleanup(cancel)
	return ctx
}
