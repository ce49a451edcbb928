package exchange

import (
	"context"
	"sync"

	"github.com/libp2p/go-libp2p/core/peer"
)

// peerLimit caps the batches a client has in flight to each peer across
// all its Fetch calls, so that callers together stay under the server's
// PerPeerRequests instead of being answered busy. Entries exist only while
// a peer has batches waiting or running.
type peerLimit struct {
	max   int
	mu    sync.Mutex
	peers map[peer.ID]*peerSlots
}

type peerSlots struct {
	slots chan struct{}
	users int
}

func newPeerLimit(max int) *peerLimit {
	return &peerLimit{max: max, peers: map[peer.ID]*peerSlots{}}
}

// acquire waits for a slot to p; the returned func releases it.
func (l *peerLimit) acquire(ctx context.Context, p peer.ID) (func(), error) {
	l.mu.Lock()
	ps, ok := l.peers[p]
	if !ok {
		ps = &peerSlots{slots: make(chan struct{}, l.max)}
		l.peers[p] = ps
	}
	ps.users++
	l.mu.Unlock()
	select {
	case ps.slots <- struct{}{}:
		return func() { <-ps.slots; l.done(p, ps) }, nil
	case <-ctx.Done():
		l.done(p, ps)
		return nil, ctx.Err()
	}
}

func (l *peerLimit) done(p peer.ID, ps *peerSlots) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ps.users--; ps.users == 0 {
		delete(l.peers, p)
	}
}

// size reports how many peers have entries (for tests of cleanup).
func (l *peerLimit) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.peers)
}
