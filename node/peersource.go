package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/prefetch"
)

// errNoHolders: no member of the region announced the dataset.
var errNoHolders = errors.New("no peer holds the dataset")

// holdersTTL is how long a DHT answer is reused: a pin asks for many
// batches, and one lookup per batch would cost more than the batch.
const holdersTTL = 10 * time.Second

// peerSource fetches a dataset's blocks from the members of this node's
// region that announced it, nearest (lowest measured RTT) first.
type peerSource struct {
	m    *meshNode
	root cid.Cid
}

var _ prefetch.Source = peerSource{}

func (s peerSource) Name() string { return prefetch.SourcePeer }

func (s peerSource) Fetch(ctx context.Context, want []prefetch.Want, got prefetch.GotFunc) error {
	holders, err := s.m.holders(ctx, s.root)
	if err != nil {
		return err
	}
	if len(holders) == 0 {
		return fmt.Errorf("dataset %s: %w", s.root, errNoHolders)
	}
	byCID := make(map[string][]prefetch.Want, len(want))
	remaining := make([]cid.Cid, 0, len(want))
	for _, w := range want {
		k := w.CID.KeyString()
		if len(byCID[k]) == 0 {
			remaining = append(remaining, w.CID)
		}
		byCID[k] = append(byCID[k], w)
	}
	var lastErr error
	for _, h := range s.m.penalties.last(holders) {
		if len(remaining) == 0 {
			return nil
		}
		missing, err := s.m.client.Fetch(ctx, h, remaining, func(b blocks.Block) error {
			for _, w := range byCID[b.Cid().KeyString()] {
				if err := got(w, b); err != nil {
					return err
				}
			}
			return nil
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			lastErr = err
			s.m.penalties.judge(h, err)
		}
		remaining = missing
	}
	if len(remaining) == 0 {
		return nil
	}
	if lastErr == nil {
		lastErr = errNoHolders
	}
	return fmt.Errorf("%d blocks of %s not found at %d peers: %w", len(remaining), s.root, len(holders), lastErr)
}

// penaltyTime is how long a peer that sent wrong bytes or broke the
// protocol is asked last.
const penaltyTime = 10 * time.Minute

// penalties remembers peers that sent wrong bytes or malformed frames, so
// that they are asked only when no one else has a block. The block itself
// is fetched elsewhere at once; the penalty spares the next batches the
// wasted round trip.
type penalties struct {
	mu    sync.Mutex
	until map[peer.ID]time.Time
	log   func(p peer.ID, err error)
}

// judge penalises p if err is p's fault in kind, not in luck: wrong bytes
// or a broken protocol (a timeout or a reset is not).
func (pn *penalties) judge(p peer.ID, err error) {
	if !errors.Is(err, exchange.ErrBadBlock) && !errors.Is(err, exchange.ErrProtocol) {
		return
	}
	pn.mu.Lock()
	if pn.until == nil {
		pn.until = map[peer.ID]time.Time{}
	}
	pn.until[p] = time.Now().Add(penaltyTime)
	pn.mu.Unlock()
	if pn.log != nil {
		pn.log(p, err)
	}
}

// penalised reports whether p is serving a penalty.
func (pn *penalties) penalised(p peer.ID) bool {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	t, ok := pn.until[p]
	if ok && time.Now().After(t) {
		delete(pn.until, p)
		return false
	}
	return ok
}

// last returns peers with the penalised ones moved to the end, order kept
// otherwise.
func (pn *penalties) last(peers []peer.ID) []peer.ID {
	out := make([]peer.ID, 0, len(peers))
	var bad []peer.ID
	for _, p := range peers {
		if pn.penalised(p) {
			bad = append(bad, p)
		} else {
			out = append(out, p)
		}
	}
	return append(out, bad...)
}

// holderCache remembers DHT answers for a short while.
type holderCache struct {
	mu      sync.Mutex
	entries map[cid.Cid]holderEntry
}

type holderEntry struct {
	peers   []peer.ID
	expires time.Time
	// refreshing: a lookup is under way; the entry is served meanwhile.
	refreshing bool
}

// Holder lookups: a fetch never waits on the DHT for long (a member that
// stopped answering can hold a lookup up for its whole timeout): a known
// answer is used at once, however old, while a fresh one is sought in the
// background, and a first lookup is waited for at most firstLookupWait.
const (
	firstLookupWait = 2 * time.Second
	lookupTimeout   = 10 * time.Second
)

// holders finds the region's members that announced root, nearest first.
func (m *meshNode) holders(ctx context.Context, root cid.Cid) ([]peer.ID, error) {
	m.cache.mu.Lock()
	e, ok := m.cache.entries[root]
	var done chan struct{}
	if !ok || (time.Now().After(e.expires) && !e.refreshing) {
		done = m.lookupHolders(root, e)
	}
	m.cache.mu.Unlock()
	if !ok && done != nil {
		select {
		case <-done:
		case <-time.After(firstLookupWait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		m.cache.mu.Lock()
		e = m.cache.entries[root]
		m.cache.mu.Unlock()
	}
	return m.byRTT(e.peers), nil
}

// lookupHolders starts a background lookup of root's holders (under the
// cache's lock) and returns a channel closed when it ends; nil when the
// mesh is not running.
func (m *meshNode) lookupHolders(root cid.Cid, prev holderEntry) chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.ctx.Err() != nil {
		return nil
	}
	ctx := m.ctx
	prev.refreshing = true
	m.cache.entries[root] = prev
	done := make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(done)
		lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		infos, err := m.discovery.FindHolders(lctx, root, m.cfg.Region, 16)
		cancel()
		e := holderEntry{peers: prev.peers, expires: time.Now().Add(holdersTTL)}
		if err != nil {
			m.log.Debug("find holders", "root", root, "err", err)
		} else {
			e.peers = make([]peer.ID, 0, len(infos))
			for _, info := range infos {
				m.host.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.TempAddrTTL)
				e.peers = append(e.peers, info.ID)
			}
		}
		m.cache.mu.Lock()
		m.cache.entries[root] = e
		m.cache.mu.Unlock()
	}()
	return done
}

// byRTT sorts a copy of ids by measured RTT. Unknown RTT (never measured)
// sorts last: a peer we have timed is a safer first choice than one we
// know nothing of.
func (m *meshNode) byRTT(ids []peer.ID) []peer.ID {
	ps := m.host.Peerstore()
	out := slices.Clone(ids)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := ps.LatencyEWMA(out[i]), ps.LatencyEWMA(out[j])
		if (a == 0) != (b == 0) {
			return a != 0
		}
		return a < b
	})
	return out
}

// announce provides root as held by this node, in the background: the DHT
// round trips must not hold up the pin that just finished.
func (m *meshNode) announce(root cid.Cid) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.ctx.Err() != nil {
		return
	}
	ctx := m.ctx
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.discovery.Provide(ctx, root, m.cfg.Region); err != nil && ctx.Err() == nil {
			m.log.Warn("announce dataset", "root", root, "err", err)
		}
	}()
}
