package exchange_test

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/mesh/exchange"
)

// owner plays the Pending side of a piece's owner: the blocks it is
// "fetching" land in its store when the test says so.
type owner struct {
	store *memBlocks
	mu    sync.Mutex
	wait  map[cid.Cid]chan struct{}
	asked []int64 // leaves Pending was asked about, for dataset root
	root  cid.Cid
}

func (o *owner) pending(root cid.Cid, leaf int64, c cid.Cid) <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	if root != o.root {
		return nil
	}
	o.asked = append(o.asked, leaf)
	return o.wait[c]
}

// land stores bs and wakes their waiters.
func (o *owner) land(bs ...blocks.Block) {
	o.store.mu.Lock()
	for _, b := range bs {
		o.store.m[b.Cid()] = b
	}
	o.store.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, b := range bs {
		if ch, ok := o.wait[b.Cid()]; ok {
			close(ch)
			delete(o.wait, b.Cid())
		}
	}
}

// giveUp ends the fetch of c without a block, as when the owner's origin
// read fails.
func (o *owner) giveUp(c cid.Cid) {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.wait[c])
	delete(o.wait, c)
}

func ownedPair(t *testing.T, keepAlive, idle time.Duration, held, fetching []blocks.Block) (*owner, *exchange.Client, *exchange.Server, *node) {
	t.Helper()
	root := randomBlocks(t, 1, 64)[0].Cid()
	o := &owner{wait: map[cid.Cid]chan struct{}{}, root: root}
	for _, b := range fetching {
		o.wait[b.Cid()] = make(chan struct{})
	}
	srv, store, cl, server, _ := pair(t, exchange.ServerConfig{Pending: o.pending, KeepAlive: keepAlive},
		exchange.ClientConfig{IdleTimeout: idle, BatchSize: 4}, held...)
	o.store = store
	return o, cl, srv, server
}

func wantsOf(bs []blocks.Block, firstLeaf int64) []exchange.Want {
	out := make([]exchange.Want, len(bs))
	for i, b := range bs {
		out[i] = exchange.Want{CID: b.Cid(), Leaf: firstLeaf + int64(i)}
	}
	return out
}

// TestFetchOwnedWaitsForTheOwner: blocks the owner is still fetching are
// answered when they land, long after the client's idle timeout, because
// keepalives show the owner is alive; the server was asked with the
// dataset root and each block's leaf index.
func TestFetchOwnedWaitsForTheOwner(t *testing.T) {
	held := randomBlocks(t, 3, 64<<10)
	fetching := randomBlocks(t, 5, 64<<10)
	o, cl, srv, server := ownedPair(t, 50*time.Millisecond, 400*time.Millisecond, held, fetching)
	go func() {
		time.Sleep(1200 * time.Millisecond)
		o.land(fetching...)
	}()
	col := newCollector()
	all := append(append([]blocks.Block{}, held...), fetching...)
	start := time.Now()
	missing, err := cl.FetchOwned(ctxT(t, 20*time.Second), server.id(), o.root, wantsOf(all, 100), col.add)
	if err != nil || len(missing) != 0 {
		t.Fatalf("FetchOwned: missing %d, err %v", len(missing), err)
	}
	if el := time.Since(start); el < time.Second {
		t.Fatalf("answered after %v, before the blocks landed", el)
	}
	for _, b := range all {
		if !bytes.Equal(col.got[b.Cid()], b.RawData()) {
			t.Fatalf("block %s not delivered intact", b.Cid())
		}
	}
	o.mu.Lock()
	asked := o.asked
	o.mu.Unlock()
	// Each batch of 4 waits at its first missing block; the rest have
	// landed by then.
	slices.Sort(asked)
	if !slices.Equal(asked, []int64{103, 104}) {
		t.Fatalf("Pending asked about leaves %v, want [103 104]: the first missing of each batch", asked)
	}
	if w := cl.Stats()[server.id()].Waits; w == 0 {
		t.Error("client counted no waited answers")
	}
	if w := srv.Stats(); len(w) != 1 {
		t.Errorf("server stats %+v", w)
	}
}

// TestFetchOwnedSilentOwner: an owner that waits without keepalives (as a
// stopped process would) is given up after the idle timeout with
// ErrTimeout naming it, and the blocks it never sent are reported missing.
func TestFetchOwnedSilentOwner(t *testing.T) {
	fetching := randomBlocks(t, 2, 1000)
	o, cl, _, server := ownedPair(t, time.Hour, 300*time.Millisecond, nil, fetching)
	start := time.Now()
	missing, err := cl.FetchOwned(ctxT(t, 10*time.Second), server.id(), o.root, wantsOf(fetching, 0), newCollector().add)
	var pe *exchange.PeerError
	if !errors.Is(err, exchange.ErrTimeout) || !errors.As(err, &pe) || pe.Peer != server.id() || len(missing) != 2 {
		t.Fatalf("missing %d, err %v; want ErrTimeout naming the owner", len(missing), err)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("gave up after %v", el)
	}
}

// TestFetchOwnedDontHave: a block the owner stops fetching, a block it is
// not fetching, and a plain Fetch (no dataset context) of a block it is
// fetching are all answered DONT_HAVE without a wait.
func TestFetchOwnedDontHave(t *testing.T) {
	fetching := randomBlocks(t, 2, 1000)
	other := randomBlocks(t, 1, 1000)
	o, cl, _, server := ownedPair(t, 50*time.Millisecond, 5*time.Second, nil, fetching)
	go func() {
		time.Sleep(200 * time.Millisecond)
		o.giveUp(fetching[0].Cid())
	}()
	missing, err := cl.FetchOwned(ctxT(t, 10*time.Second), server.id(), o.root, wantsOf(append(fetching[:1:1], other...), 0), newCollector().add)
	if err != nil || len(missing) != 2 {
		t.Fatalf("FetchOwned: missing %d, err %v; want both DONT_HAVE", len(missing), err)
	}
	start := time.Now()
	missing, err = cl.Fetch(ctxT(t, 10*time.Second), server.id(), cidsOf(fetching[1:]), newCollector().add)
	if err != nil || len(missing) != 1 {
		t.Fatalf("Fetch: missing %d, err %v", len(missing), err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("a request without a dataset context waited %v", el)
	}
	if _, err := cl.FetchOwned(ctxT(t, time.Second), server.id(), cid.Undef, wantsOf(fetching, 0), newCollector().add); err == nil {
		t.Fatal("FetchOwned without a root accepted")
	}
}

// TestSlowKeeperIsNotASilentPeer: a client whose own store takes longer
// than the idle timeout to keep each block does not blame the peer.
func TestSlowKeeperIsNotASilentPeer(t *testing.T) {
	held := randomBlocks(t, 3, 1000)
	_, _, cl, server, _ := pair(t, exchange.ServerConfig{}, exchange.ClientConfig{IdleTimeout: 200 * time.Millisecond}, held...)
	col := newCollector()
	slow := func(b blocks.Block) error {
		time.Sleep(500 * time.Millisecond)
		return col.add(b)
	}
	missing, err := cl.Fetch(ctxT(t, 20*time.Second), server.id(), cidsOf(held), slow)
	if err != nil || len(missing) != 0 || col.len() != 3 {
		t.Fatalf("missing %d, delivered %d, err %v; want all 3 despite the slow keeper", len(missing), col.len(), err)
	}
}

// TestDeliveredBlocksAreMarkedVerified: blocks the client hashed on
// arrival reach the caller marked verified, so a store keeps them without
// hashing them a second time.
func TestDeliveredBlocksAreMarkedVerified(t *testing.T) {
	held := randomBlocks(t, 5, 100<<10)
	_, _, cl, server, _ := pair(t, exchange.ServerConfig{}, exchange.ClientConfig{}, held...)
	var unmarked atomic.Int64
	missing, err := cl.Fetch(ctxT(t, 10*time.Second), server.id(), cidsOf(held), func(b blocks.Block) error {
		if !blockstore.IsVerified(b) {
			unmarked.Add(1)
		}
		return nil
	})
	if err != nil || len(missing) != 0 || unmarked.Load() != 0 {
		t.Fatalf("missing %d, err %v, %d blocks not marked verified", len(missing), err, unmarked.Load())
	}
}
