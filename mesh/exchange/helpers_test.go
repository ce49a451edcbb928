package exchange_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/mesh/host"
)

const quicAddr = "/ip4/127.0.0.1/udp/0/quic-v1"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type node struct {
	*host.Host
	auth *auth.Authenticator
}

func (n *node) id() peer.ID { return n.Host.Host.ID() }

func writeKey(tb testing.TB) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := auth.GenerateKey(&buf); err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), "cluster.key")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func loadKeys(tb testing.TB) auth.Keys {
	tb.Helper()
	ks, err := auth.LoadKeys(writeKey(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return ks
}

// newNode starts a QUIC host on 127.0.0.1 authenticated with keys.
func newNode(tb testing.TB, keys auth.Keys) *node {
	tb.Helper()
	v := auth.NewVerdicts(time.Minute)
	h, err := host.New(context.Background(), host.Config{DataDir: tb.TempDir(), Listen: []string{quicAddr}, Gater: v, Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { h.Close() })
	a, err := auth.New(h, auth.Config{Keys: keys, Verdicts: v, Timeout: 2 * time.Second, Logger: quiet()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	return &node{Host: h, auth: a}
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
	keys := loadKeys(tb)
	server, client = newNode(tb, keys), newNode(tb, keys)
	store = newMemBlocks(bs...)
	scfg.Blocks = store
	scfg.Wrap = server.auth.Wrap
	scfg.Logger = quiet()
	srv, err := exchange.NewServer(server, scfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	ccfg.Logger = quiet()
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
