package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/bench/mesh/baseline"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/mesh/host"
)

// rawProto is the libp2p baseline's protocol: a range request answered by
// the blocks written back to back (serveRaw), no framing, no hashing.
const rawProto = "/meshcache/bench-raw/1"

// member is one meshcache host as the daemon builds it: mesh/host's
// transports and windows, mesh/auth's membership.
type member struct {
	h    *host.Host
	auth *auth.Authenticator
}

func (m *member) Close() error {
	m.auth.Close()
	return m.h.Close()
}

// p2pPair is a serving and a fetching member connected over one transport,
// with the exchange's server and client and the raw-stream baseline.
type p2pPair struct {
	server, client *member
	srv            *exchange.Server
	cl             *exchange.Client
	cids           []cid.Cid
	blocks         [][]byte
}

// memGetter serves the held blocks from memory, as a store with a warm
// page cache would.
type memGetter map[cid.Cid]blocks.Block

func (g memGetter) Get(_ context.Context, c cid.Cid) (blocks.Block, error) {
	if b, ok := g[c]; ok {
		return b, nil
	}
	return nil, format.ErrNotFound{Cid: c}
}

// newP2PPair starts the members and connects them.
func newP2PPair(ctx context.Context, dir, listen string, held []blocks.Block, ccfg exchange.ClientConfig, log *slog.Logger) (*p2pPair, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	var key bytes.Buffer
	if err := auth.GenerateKey(&key); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "cluster.key")
	if err := os.WriteFile(keyFile, key.Bytes(), 0o600); err != nil {
		return nil, err
	}
	keys, err := auth.LoadKeys(keyFile)
	if err != nil {
		return nil, err
	}
	p := &p2pPair{}
	if p.server, err = newMember(ctx, filepath.Join(dir, "server"), listen, keys, log); err != nil {
		return nil, err
	}
	if p.client, err = newMember(ctx, filepath.Join(dir, "client"), listen, keys, log); err != nil {
		p.server.Close()
		return nil, err
	}
	g := memGetter{}
	for _, b := range held {
		g[b.Cid()] = b
		p.cids = append(p.cids, b.Cid())
		p.blocks = append(p.blocks, b.RawData())
	}
	if p.srv, err = exchange.NewServer(p.server.h, exchange.ServerConfig{Blocks: g, Wrap: p.server.auth.Wrap, Logger: log}); err != nil {
		p.Close()
		return nil, err
	}
	p.server.h.SetStreamHandler(rawProto, func(s network.Stream) {
		if err := baseline.Serve(s, p.blocks); err != nil {
			_ = s.Reset()
		}
	})
	ccfg.Logger = log
	if p.cl, err = exchange.NewClient(p.client.h, ccfg); err != nil {
		p.Close()
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sid := p.server.h.ID()
	if err := p.client.h.Connect(cctx, peer.AddrInfo{ID: sid, Addrs: p.server.h.Addrs()}); err != nil {
		p.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	if !p.client.auth.WaitAuthenticated(cctx, sid) || !p.server.auth.WaitAuthenticated(cctx, p.client.h.ID()) {
		p.Close()
		return nil, fmt.Errorf("members did not authenticate each other")
	}
	return p, nil
}

func newMember(ctx context.Context, dir, listen string, keys auth.Keys, log *slog.Logger) (*member, error) {
	v := auth.NewVerdicts(time.Minute)
	h, err := host.New(ctx, host.Config{DataDir: dir, Listen: []string{listen}, Gater: v, Logger: log})
	if err != nil {
		return nil, err
	}
	a, err := auth.New(h, auth.Config{Keys: keys, Verdicts: v, Logger: log})
	if err != nil {
		h.Close()
		return nil, err
	}
	return &member{h: h, auth: a}, nil
}

func (p *p2pPair) Close() error {
	if p.srv != nil {
		p.srv.Close()
	}
	if p.client != nil {
		p.client.Close()
	}
	return p.server.Close()
}

// transport names the connection's transport, to check the pair uses the
// one asked for.
func (p *p2pPair) transport() string {
	for _, c := range p.client.h.Network().ConnsToPeer(p.server.h.ID()) {
		return c.ConnState().Transport
	}
	return ""
}

// runRaw reads every block over streams raw libp2p streams.
func (p *p2pPair) runRaw(ctx context.Context, streams int, verify bool) error {
	return baseline.Split(len(p.blocks), streams, func(first, n int) error {
		st, err := p.client.h.NewStream(ctx, p.server.h.ID(), rawProto)
		if err != nil {
			return fmt.Errorf("open stream: %w", err)
		}
		if err := baseline.Fetch(st, first, n, len(p.blocks[0]), verify); err != nil {
			_ = st.Reset()
			return err
		}
		// Wait for the end so the next run starts on a quiet connection.
		if _, err := st.Read(make([]byte, 1)); err != io.EOF {
			_ = st.Reset()
			return fmt.Errorf("end of raw stream: %v", err)
		}
		return st.Close()
	})
}

// newClient returns an exchange client of the fetching member with cfg.
func (p *p2pPair) newClient(cfg exchange.ClientConfig, log *slog.Logger) (*exchange.Client, error) {
	cfg.Logger = log
	return exchange.NewClient(p.client.h, cfg)
}

// runExchange fetches every block through the exchange (verified on
// arrival) and drops it, as the raw side drops its bytes.
func (p *p2pPair) runExchange(ctx context.Context) error { return p.fetchWith(ctx, p.cl) }

func (p *p2pPair) fetchWith(ctx context.Context, cl *exchange.Client) error {
	missing, err := cl.Fetch(ctx, p.server.h.ID(), p.cids, func(blocks.Block) error { return nil })
	if err != nil {
		return err
	}
	if len(missing) != 0 {
		return fmt.Errorf("%d blocks missing", len(missing))
	}
	return nil
}

// randomBlocks makes n raw-codec SHA-256 blocks of size random bytes.
func randomBlocks(n, size int) ([]blocks.Block, error) {
	rng := rand.NewChaCha8([32]byte{'m', 'e', 's', 'h'})
	out := make([]blocks.Block, n)
	for i := range out {
		data := make([]byte, size)
		_, _ = rng.Read(data) // ChaCha8's Read never fails
		c, err := cid.V1Builder{Codec: cid.Raw, MhType: mh.SHA2_256}.Sum(data)
		if err != nil {
			return nil, err
		}
		if out[i], err = blocks.NewBlockWithCid(data, c); err != nil {
			return nil, err
		}
	}
	return out, nil
}
