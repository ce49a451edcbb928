package node

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"

	"github.com/meshcache/meshcache/mesh/policy"
)

// Holder lookups: a fetch never waits on the DHT for long (a member that
// stopped answering can hold a lookup up for its whole timeout): a known
// answer is used at once, however old, while a fresh one is sought in the
// background, and a first lookup is waited for at most firstLookupWait
// (once per dataset: a pin then runs for minutes, and reading the origin
// while a holder is being found is the costlier mistake).
const (
	firstLookupWait = 5 * time.Second
	// lookupTimeout ends a lookup with what it found so far. Providers
	// answer within a few round trips, but a query also waits on members
	// that stopped (still in routing tables for a while), and a pin must
	// not wait with it: the answer is refreshed every holdersTTL anyway.
	lookupTimeout = 10 * time.Second
	// viewLookupTimeout is the same for the region's view, polled every
	// viewPoll while it settles.
	viewLookupTimeout = 500 * time.Millisecond
	// emptyHoldersTTL is how long "no holder" is believed.
	emptyHoldersTTL = time.Second
)

// holderCache remembers DHT answers for a short while, by dataset and
// scope (this region, or the others).
type holderCache struct {
	mu      sync.Mutex
	entries map[string]holderEntry
}

type holderEntry struct {
	peers   []holder
	expires time.Time
	// refreshing: a lookup is under way; the entry is served meanwhile.
	refreshing bool
}

// holder is a peer that announced a dataset, and the region it did so in.
type holder struct {
	id     peer.ID
	region string
}

// holders finds the members of this node's region that announced root,
// nearest first.
func (m *meshNode) holders(ctx context.Context, root cid.Cid) ([]peer.ID, error) {
	found, err := m.cachedLookup(ctx, root.KeyString(), m.findHolders(root))
	return m.rank(found), err
}

// findHolders is the DHT lookup of root's holders in this region.
func (m *meshNode) findHolders(root cid.Cid) func(context.Context) ([]holder, error) {
	return func(ctx context.Context) ([]holder, error) {
		m.waitRouting(ctx)
		infos, err := m.discovery.FindHolders(ctx, root, m.cfg.Region, 16)
		out := make([]holder, 0, len(infos))
		for _, info := range infos {
			m.host.Peerstore().AddAddrs(info.ID, info.Addrs, peerstore.TempAddrTTL)
			out = append(out, holder{id: info.ID, region: m.cfg.Region})
		}
		return out, err
	}
}

// primeHolders starts looking root's holders up, so that a pin's first
// fetch finds the answer ready.
func (m *meshNode) primeHolders(root cid.Cid) {
	m.cache.mu.Lock()
	defer m.cache.mu.Unlock()
	if _, ok := m.cache.entries[root.KeyString()]; !ok {
		m.startLookup(root.KeyString(), holderEntry{}, m.findHolders(root))
	}
}

// waitRouting waits (within ctx) until the DHT's routing table has a
// member, when this node is connected to any or expects to be (it has
// bootstrap peers or mDNS): a lookup made before the first member is
// admitted to the table finds nothing, and that empty answer would send a
// pin to the origin. A daemon that has just started, or restarted and is
// resuming its pins, is in exactly that moment. ctx bounds the wait: a
// node whose bootstrap peers are all down reads the origin after it.
func (m *meshNode) waitRouting(ctx context.Context) {
	expect := len(m.cfg.Bootstrap) > 0 || m.cfg.MDNS
	for len(m.discovery.RoutingTable()) == 0 && (expect || len(m.peers()) > 0) {
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// remoteHolders finds members of other regions that announced root,
// nearest first. The regions asked are those of the members this node is
// connected to, as their labels say.
func (m *meshNode) remoteHolders(ctx context.Context, root cid.Cid) ([]peer.ID, error) {
	found, err := m.cachedLookup(ctx, root.KeyString()+"/remote", func(ctx context.Context) ([]holder, error) {
		regions := m.otherRegions(ctx)
		if len(regions) == 0 {
			return nil, nil
		}
		hs, err := m.discovery.FindAcross(ctx, root, regions, 16)
		out := make([]holder, 0, len(hs))
		for _, h := range hs {
			m.host.Peerstore().AddAddrs(h.ID, h.Addrs, peerstore.TempAddrTTL)
			out = append(out, holder{id: h.ID, region: h.Region})
		}
		return out, err
	})
	return m.rank(found), err
}

// otherRegions lists the regions of connected members, this one's apart,
// asking the members whose labels are not known yet.
func (m *meshNode) otherRegions(ctx context.Context) []string {
	seen := map[string]bool{m.cfg.Region: true}
	var out []string
	for _, p := range m.host.Network().Peers() {
		if !m.auth.IsAuthenticated(p) {
			continue
		}
		l, ok := m.labels.Get(p)
		if !ok {
			var err error
			if l, err = m.labels.Ask(ctx, p); err != nil {
				continue
			}
		}
		if !seen[l.Region] {
			seen[l.Region] = true
			out = append(out, l.Region)
		}
	}
	return out
}

// cachedLookup returns the cached answer for key, refreshing it in the
// background when it is older than holdersTTL; without one it waits for a
// first lookup for at most firstLookupWait.
func (m *meshNode) cachedLookup(ctx context.Context, key string, lookup func(context.Context) ([]holder, error)) ([]holder, error) {
	m.cache.mu.Lock()
	e, ok := m.cache.entries[key]
	var done chan struct{}
	if !ok || (time.Now().After(e.expires) && !e.refreshing) {
		done = m.startLookup(key, e, lookup)
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
		e = m.cache.entries[key]
		m.cache.mu.Unlock()
	}
	return e.peers, nil
}

// startLookup runs lookup in the background (called with the cache's
// lock) and returns a channel closed when it ends; nil when the mesh is not
// running. A failed lookup keeps the previous answer.
func (m *meshNode) startLookup(key string, prev holderEntry, lookup func(context.Context) ([]holder, error)) chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.ctx.Err() != nil {
		return nil
	}
	ctx := m.ctx
	prev.refreshing = true
	m.cache.entries[key] = prev
	done := make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(done)
		lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		found, err := lookup(lctx)
		cancel()
		e := holderEntry{peers: prev.peers, expires: time.Now().Add(holdersTTL)}
		if err != nil {
			m.log.Debug("find holders", "key", key, "err", err)
		} else {
			e.peers = found
		}
		if len(e.peers) == 0 {
			// Nobody yet: ask again soon, a holder may be announcing.
			e.expires = time.Now().Add(emptyHoldersTTL)
		}
		m.cache.mu.Lock()
		m.cache.entries[key] = e
		m.cache.mu.Unlock()
	}()
	return done
}

// rank orders holders nearest first with mesh/policy: topology labels
// (rack, zone, region, remote) as the prior, measured RTT inside a tier,
// and among equally near holders the one with fewer bytes in flight from
// this node, by power of two choices. Penalised peers go last.
func (m *meshNode) rank(found []holder) []peer.ID {
	local := policy.Labels{Region: m.cfg.Region, Zone: m.cfg.Zone, Rack: m.cfg.Rack}
	hs := make([]policy.Holder, 0, len(found))
	ids := make(map[string]peer.ID, len(found))
	for _, h := range found {
		l, ok := m.labels.Get(h.id)
		if !ok {
			// Announced under a region's key: the region is known.
			l = policy.Labels{Region: h.region}
		}
		hs = append(hs, policy.Holder{ID: h.id.String(), Labels: l, RTT: m.host.Peerstore().LatencyEWMA(h.id), InFlight: m.load.of(h.id)})
		ids[h.id.String()] = h.id
	}
	policy.RankHolders(hs, policy.DefaultRankOptions(local, globalRand{}))
	out := make([]peer.ID, len(hs))
	for i, h := range hs {
		out[i] = ids[h.ID]
	}
	return m.penalties.last(out)
}

// globalRand is math/rand/v2's generator for policy.Rand.
type globalRand struct{}

func (globalRand) IntN(n int) int { return rand.IntN(n) }

// inFlight counts the bytes this node has asked each peer for and not yet
// received, for spreading load over equally near holders.
type inFlight struct {
	mu    sync.Mutex
	bytes map[peer.ID]*atomic.Int64
}

func (f *inFlight) counter(p peer.ID) *atomic.Int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.bytes == nil {
		f.bytes = map[peer.ID]*atomic.Int64{}
	}
	c, ok := f.bytes[p]
	if !ok {
		c = new(atomic.Int64)
		f.bytes[p] = c
	}
	return c
}

// add counts n bytes asked of p until the returned func is called.
func (f *inFlight) add(p peer.ID, n int64) (done func()) {
	c := f.counter(p)
	c.Add(n)
	return func() { c.Add(-n) }
}

func (f *inFlight) of(p peer.ID) int64 { return f.counter(p).Load() }
