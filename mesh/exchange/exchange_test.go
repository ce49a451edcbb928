package exchange_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	lphost "github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/exchange"
)

func TestFetchWithDontHave(t *testing.T) {
	held := randomBlocks(t, 40, 100<<10)
	unknown := randomBlocks(t, 10, 1000)
	srv, _, cl, server, client := pair(t, exchange.ServerConfig{}, exchange.ClientConfig{BatchSize: 7, InFlight: 3}, held...)
	// Interleave unknown CIDs with held ones across batch boundaries.
	var want []cid.Cid
	for i, b := range held {
		want = append(want, b.Cid())
		if i%4 == 0 {
			want = append(want, unknown[i/4].Cid())
		}
	}
	col := newCollector()
	missing, err := cl.Fetch(ctxT(t, 10*time.Second), server.id(), want, col.add)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(missing) != len(unknown) {
		t.Fatalf("missing %d, want %d", len(missing), len(unknown))
	}
	for i, c := range missing {
		if c != unknown[i].Cid() {
			t.Fatalf("missing[%d] = %s, want %s (request order)", i, c, unknown[i].Cid())
		}
	}
	for _, b := range held {
		if !bytes.Equal(col.got[b.Cid()], b.RawData()) {
			t.Fatalf("block %s not delivered intact", b.Cid())
		}
	}
	total := int64(40 * 100 << 10)
	if s := srv.Stats()[client.id()]; s.BytesSent != total || s.BlocksSent != 40 || s.DontHave != 10 {
		t.Errorf("server stats %+v", s)
	}
	if s := cl.Stats()[server.id()]; s.BytesReceived != total || s.BlocksReceived != 40 || s.DontHave != 10 {
		t.Errorf("client stats %+v", s)
	}
}

func TestConcurrentFetches(t *testing.T) {
	held := randomBlocks(t, 64, 256<<10)
	// 8 fetches of 2 batches at once would exceed the server's 4 per peer;
	// the client's PerPeer keeps them under it instead of being refused.
	srv, _, cl, server, client := pair(t, exchange.ServerConfig{PerPeerRequests: 4}, exchange.ClientConfig{BatchSize: 4, InFlight: 2, PerPeer: 4}, held...)
	ctx := ctxT(t, 20*time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := held[w*8 : w*8+8]
			col := newCollector()
			missing, err := cl.Fetch(ctx, server.id(), cidsOf(part), col.add)
			if err == nil && (len(missing) != 0 || col.len() != len(part)) {
				err = errors.New("incomplete fetch")
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if s := srv.Stats()[client.id()]; s.Busy != 0 || s.BlocksSent != 64 {
		t.Errorf("server stats %+v, want 64 blocks and no busy answers", s)
	}
	if n := exchange.PeerLimitEntries(cl); n != 0 {
		t.Errorf("client still tracks %d peers after its fetches", n)
	}
}

func TestServerBusy(t *testing.T) {
	held := randomBlocks(t, 8, 1000)
	release := make(chan struct{})
	keys := meshtest.Keys(t)
	server, client := newNode(t, keys), newNode(t, keys)
	store := newMemBlocks(held...)
	entered := make(chan struct{}, 8)
	slow := exchange.GetterFunc(func(ctx context.Context, c cid.Cid) (blocks.Block, error) {
		entered <- struct{}{}
		<-release
		return store.Get(ctx, c)
	})
	srv, err := exchange.NewServer(server, exchange.ServerConfig{Blocks: slow, Wrap: server.auth.Wrap, PerPeerRequests: 1, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, _ := exchange.NewClient(client, exchange.ClientConfig{Logger: meshtest.Quiet()})
	connect(t, client, server)
	ctx := ctxT(t, 10*time.Second)
	done := make(chan error, 1)
	go func() {
		_, err := cl.Fetch(ctx, server.id(), cidsOf(held[:1]), newCollector().add)
		done <- err
	}()
	<-entered
	missing, err := cl.Fetch(ctx, server.id(), cidsOf(held[1:2]), newCollector().add)
	if !errors.Is(err, exchange.ErrBusy) || len(missing) != 1 {
		t.Fatalf("second request: missing %v, err %v; want ErrBusy", missing, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("first request: %v", err)
	}
}

func TestCancelMidBatch(t *testing.T) {
	held := randomBlocks(t, 8, 1000)
	keys := meshtest.Keys(t)
	server, client := newNode(t, keys), newNode(t, keys)
	store := newMemBlocks(held...)
	stall := make(chan struct{})
	defer close(stall)
	var served sync.WaitGroup
	// The server answers the first 3 blocks, then stalls until the test ends.
	n := 0
	var mu sync.Mutex
	getter := exchange.GetterFunc(func(ctx context.Context, c cid.Cid) (blocks.Block, error) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		if k > 3 {
			select {
			case <-stall:
			case <-ctx.Done():
			}
		}
		return store.Get(ctx, c)
	})
	srv, err := exchange.NewServer(server, exchange.ServerConfig{Blocks: getter, Wrap: server.auth.Wrap, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, _ := exchange.NewClient(client, exchange.ClientConfig{BatchSize: 8, Logger: meshtest.Quiet()})
	connect(t, client, server)
	ctx, cancel := context.WithCancel(context.Background())
	col := newCollector()
	served.Add(1)
	got := func(b blocks.Block) error {
		col.add(b)
		if col.len() == 3 {
			served.Done()
		}
		return nil
	}
	go func() { served.Wait(); cancel() }()
	start := time.Now()
	missing, err := cl.Fetch(ctx, server.id(), cidsOf(held), got)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if len(missing) != 5 || col.len() != 3 {
		t.Fatalf("missing %d delivered %d, want 5 and 3", len(missing), col.len())
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("cancellation took %v", el)
	}
}

func TestIdleTimeout(t *testing.T) {
	held := randomBlocks(t, 2, 1000)
	keys := meshtest.Keys(t)
	server, client := newNode(t, keys), newNode(t, keys)
	stall := make(chan struct{})
	defer close(stall)
	getter := exchange.GetterFunc(func(ctx context.Context, c cid.Cid) (blocks.Block, error) {
		select {
		case <-stall:
		case <-ctx.Done():
		}
		return nil, ctx.Err()
	})
	srv, _ := exchange.NewServer(server, exchange.ServerConfig{Blocks: getter, Wrap: server.auth.Wrap, Logger: meshtest.Quiet()})
	defer srv.Close()
	cl, _ := exchange.NewClient(client, exchange.ClientConfig{IdleTimeout: 300 * time.Millisecond, Logger: meshtest.Quiet()})
	connect(t, client, server)
	missing, err := cl.Fetch(ctxT(t, 10*time.Second), server.id(), cidsOf(held), newCollector().add)
	var pe *exchange.PeerError
	if !errors.Is(err, exchange.ErrTimeout) || !errors.As(err, &pe) || pe.Peer != server.id() || len(missing) != 2 {
		t.Fatalf("missing %d, err %v; want ErrTimeout naming the server", len(missing), err)
	}
}

// TestUnauthenticatedRefused: a peer with another cluster's key, and a
// peer with no key at all that opens the protocol before any handshake,
// are both refused without the server consulting its store.
func TestUnauthenticatedRefused(t *testing.T) {
	held := randomBlocks(t, 2, 1000)
	_, store, _, server, _ := pair(t, exchange.ServerConfig{}, exchange.ClientConfig{}, held...)
	ctx := ctxT(t, 10*time.Second)

	otherKey := newNode(t, meshtest.Keys(t))
	// The connection may open before the handshake fails; either way no
	// stream may be served.
	_ = otherKey.Connect(ctx, peer.AddrInfo{ID: server.id(), Addrs: server.Addrs()})
	otherKey.Peerstore().AddAddrs(server.id(), server.Addrs(), time.Minute)

	noKey := meshtest.NewHost(t, t.TempDir(), nil, meshtest.QUICAddr)
	if err := noKey.Connect(ctx, peer.AddrInfo{ID: server.id(), Addrs: server.Addrs()}); err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]lphost.Host{"other key": otherKey, "no key": noKey} {
		cl, _ := exchange.NewClient(h, exchange.ClientConfig{Logger: meshtest.Quiet()})
		missing, err := cl.Fetch(ctx, server.id(), cidsOf(held), newCollector().add)
		if err == nil || len(missing) != 2 {
			t.Fatalf("%s: fetched, missing %d, err %v", name, len(missing), err)
		}
	}
	if n := store.calls.Load(); n != 0 {
		t.Fatalf("server consulted its store %d times for strangers", n)
	}
}

// TestManyUnknownRequests: 10,000 requests for blocks nobody holds cost one
// store lookup each, nothing else, and leave no goroutines behind.
func TestManyUnknownRequests(t *testing.T) {
	_, store, cl, server, _ := pair(t, exchange.ServerConfig{PerPeerRequests: 64}, exchange.ClientConfig{InFlight: 1})
	unknown := cidsOf(randomBlocks(t, 16, 64))
	ctx := ctxT(t, 60*time.Second)
	// Warm the connection's streams up before counting goroutines.
	if _, err := cl.Fetch(ctx, server.id(), unknown[:1], newCollector().add); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	const requests, workers = 10_000, 16
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < requests; i += workers {
				missing, err := cl.Fetch(ctx, server.id(), unknown[i%16:i%16+1], func(blocks.Block) error {
					return errors.New("delivered a block nobody holds")
				})
				if err != nil || len(missing) != 1 {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("request failed: %v", err)
	}
	if n := store.calls.Load(); n != requests+1 {
		t.Fatalf("store consulted %d times, want %d", n, requests+1)
	}
	// Streams wind down asynchronously; allow them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+10 {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines grew from %d to %d", before, runtime.NumGoroutine())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCloseStopsServing(t *testing.T) {
	held := randomBlocks(t, 1, 1000)
	srv, _, cl, server, _ := pair(t, exchange.ServerConfig{}, exchange.ClientConfig{}, held...)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	missing, err := cl.Fetch(ctxT(t, 10*time.Second), server.id(), cidsOf(held), newCollector().add)
	if err == nil || len(missing) != 1 {
		t.Fatalf("closed server answered: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	h := newNode(t, meshtest.Keys(t))
	if _, err := exchange.NewServer(h, exchange.ServerConfig{}); err == nil {
		t.Error("server without Blocks accepted")
	}
	bad := []exchange.ServerConfig{
		{Blocks: newMemBlocks(), MaxBatch: exchange.MaxBatch + 1},
		{Blocks: newMemBlocks(), PerPeerRequests: -1},
		{Blocks: newMemBlocks(), MaxBytesInFlight: 1},
	}
	for _, c := range bad {
		if _, err := exchange.NewServer(h, c); err == nil {
			t.Errorf("server config %+v accepted", c)
		}
	}
	for _, c := range []exchange.ClientConfig{{BatchSize: -1}, {BatchSize: exchange.MaxBatch + 1}, {InFlight: -2}, {IdleTimeout: -1}} {
		if _, err := exchange.NewClient(h, c); err == nil {
			t.Errorf("client config %+v accepted", c)
		}
	}
}
