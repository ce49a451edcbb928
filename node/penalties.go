package node

import (
	"errors"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/mesh/exchange"
)

// penaltyTime is how long a peer that sent wrong bytes or broke the
// protocol is asked last.
const penaltyTime = 10 * time.Minute

// silentTime is how long a holder that went silent mid-batch (stopped,
// killed, cut off) is asked last. Shorter than a penalty: it did nothing
// wrong, and one that answers a ping is forgiven at once.
const silentTime = time.Minute

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

// silent marks p as asked last for silentTime, unless a penalty already
// runs longer.
func (pn *penalties) silent(p peer.ID) {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	if pn.until == nil {
		pn.until = map[peer.ID]time.Time{}
	}
	if t := time.Now().Add(silentTime); t.After(pn.until[p]) {
		pn.until[p] = t
	}
}

// forgive ends p's mark if it was for silence (a penalty for wrong bytes
// runs its course).
func (pn *penalties) forgive(p peer.ID) {
	pn.mu.Lock()
	defer pn.mu.Unlock()
	if t, ok := pn.until[p]; ok && time.Until(t) <= silentTime {
		delete(pn.until, p)
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
