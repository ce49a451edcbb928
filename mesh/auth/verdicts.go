package auth

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

type status uint8

const (
	statusPending status = iota + 1
	statusAuthenticated
	statusRefused
	statusUnknown // settled without a verdict (I/O error, timeout): forgotten
)

type entry struct {
	status  status
	expires time.Time // refused verdicts only
	done    chan struct{}
}

// Verdicts holds what this node knows about each peer's membership. It is
// created before the host so it can serve as the host's connection gater:
// a peer refused within RefuseTTL is turned away at dial and at the secured
// stage of accepting, before it costs a handshake.
type Verdicts struct {
	ttl time.Duration
	now func() time.Time

	mu           sync.Mutex
	peers        map[peer.ID]*entry
	refusedCount int // refused entries in peers, expired or not
}

// DefaultRefuseTTL is how long a refusal is remembered.
const DefaultRefuseTTL = 10 * time.Minute

// maxRefused bounds the refusals kept: peer IDs cost nothing to mint, so a
// stranger must not grow the cache without limit. Past it, the oldest
// knowledge is dropped; such a peer merely costs a handshake again.
const maxRefused = 4096

// NewVerdicts returns an empty verdict cache; ttl <= 0 means DefaultRefuseTTL.
func NewVerdicts(ttl time.Duration) *Verdicts {
	if ttl <= 0 {
		ttl = DefaultRefuseTTL
	}
	return &Verdicts{ttl: ttl, now: time.Now, peers: map[peer.ID]*entry{}}
}

var _ connmgr.ConnectionGater = (*Verdicts)(nil)

// begin returns the peer's pending entry, creating one unless a handshake
// is already under way; fresh reports whether it was created.
func (v *Verdicts) begin(p peer.ID) (e *entry, fresh bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if old := v.peers[p]; old != nil {
		switch old.status {
		case statusPending:
			return old, false
		case statusRefused:
			v.refusedCount--
		}
	}
	e = &entry{status: statusPending, done: make(chan struct{})}
	v.peers[p] = e
	return e, true
}

// settle records the outcome of e's handshake; only the first outcome of a
// pending entry counts, so racing handshakes for one peer are harmless.
func (v *Verdicts) settle(p peer.ID, e *entry, st status) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e.status != statusPending {
		return
	}
	e.status = st
	if st == statusRefused {
		e.expires = v.now().Add(v.ttl)
		v.refusedCount++
		if v.refusedCount > maxRefused {
			v.prune(p)
		}
	}
	close(e.done)
	if st == statusUnknown && v.peers[p] == e {
		delete(v.peers, p)
	}
}

// lookup returns p's status (0 when unknown, expired refusals dropped)
// and, for a pending handshake, the channel closed when it settles. Fields
// of an entry are only read under the lock.
// prune drops expired refusals, then the ones closest to expiry, until the
// cache is back under half its bound; keep is the refusal just made.
func (v *Verdicts) prune(keep peer.ID) {
	now := v.now()
	var live []peer.ID
	for id, e := range v.peers {
		if e.status != statusRefused || id == keep {
			continue
		}
		if !now.Before(e.expires) {
			delete(v.peers, id)
			v.refusedCount--
			continue
		}
		live = append(live, id)
	}
	if v.refusedCount <= maxRefused/2 {
		return
	}
	slices.SortFunc(live, func(a, b peer.ID) int { return v.peers[a].expires.Compare(v.peers[b].expires) })
	for _, id := range live {
		if v.refusedCount <= maxRefused/2 {
			break
		}
		delete(v.peers, id)
		v.refusedCount--
	}
}

func (v *Verdicts) lookup(p peer.ID) (status, <-chan struct{}) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e := v.peers[p]
	if e == nil {
		return 0, nil
	}
	if e.status == statusRefused && !v.now().Before(e.expires) {
		delete(v.peers, p)
		v.refusedCount--
		return 0, nil
	}
	return e.status, e.done
}

func (v *Verdicts) statusOf(p peer.ID) status {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e := v.peers[p]; e != nil {
		return e.status
	}
	return 0
}

// await waits for a pending handshake with p and reports whether p is
// authenticated.
func (v *Verdicts) await(ctx context.Context, p peer.ID) bool {
	st, done := v.lookup(p)
	if st != statusPending {
		return st == statusAuthenticated
	}
	select {
	case <-done:
	case <-ctx.Done():
		return false
	}
	return v.statusOf(p) == statusAuthenticated
}

// forget drops an authenticated verdict when the peer's last connection
// closes: a new connection authenticates afresh (and a key removed in a
// rotation takes effect). Refusals stay until they expire.
func (v *Verdicts) forget(p peer.ID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e := v.peers[p]; e != nil && e.status == statusAuthenticated {
		delete(v.peers, p)
	}
}

// Authenticated reports whether p has completed the handshake.
func (v *Verdicts) Authenticated(p peer.ID) bool { return v.statusOf(p) == statusAuthenticated }

// Refused reports whether p was refused within the TTL.
func (v *Verdicts) Refused(p peer.ID) bool {
	st, _ := v.lookup(p)
	return st == statusRefused
}

// InterceptPeerDial refuses dialing a refused peer.
func (v *Verdicts) InterceptPeerDial(p peer.ID) bool { return !v.Refused(p) }

// InterceptAddrDial refuses dialing a refused peer.
func (v *Verdicts) InterceptAddrDial(p peer.ID, _ ma.Multiaddr) bool { return !v.Refused(p) }

// InterceptAccept admits every address: the peer is not known yet.
func (v *Verdicts) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses a refused peer once its ID is known.
func (v *Verdicts) InterceptSecured(_ network.Direction, p peer.ID, _ network.ConnMultiaddrs) bool {
	return !v.Refused(p)
}

// InterceptUpgraded admits the connection; the handshake decides next.
func (v *Verdicts) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }
