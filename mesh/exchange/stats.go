package exchange

import (
	"sync"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
)

// PeerStats are counters for one peer since start. A server fills the
// Sent/Served side, a client the Received side.
type PeerStats struct {
	BytesSent      int64 // block bytes written to the peer
	BlocksSent     int64
	BytesReceived  int64 // block bytes read from the peer (bad ones included)
	BlocksReceived int64 // verified blocks delivered
	DontHave       int64 // DONT_HAVE answers (sent by a server, received by a client)
	BadBlocks      int64 // blocks that failed verification
	Busy           int64 // requests refused because too many were in flight
	Errors         int64 // requests that failed otherwise
	// Waits counts answers that waited for a block the server was
	// fetching as its piece's owner (server side) or that arrived after
	// keepalives (client side).
	Waits int64
}

type peerCounters struct {
	bytesSent, blocksSent, bytesReceived, blocksReceived atomic.Int64
	dontHave, badBlocks, busy, errors, waits             atomic.Int64
}

// counters keeps PeerStats per peer. Entries live as long as the owner:
// a node talks to a bounded set of cluster members.
type counters struct {
	mu    sync.Mutex
	peers map[peer.ID]*peerCounters
}

func newCounters() *counters { return &counters{peers: map[peer.ID]*peerCounters{}} }

func (c *counters) of(p peer.ID) *peerCounters {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc, ok := c.peers[p]
	if !ok {
		pc = &peerCounters{}
		c.peers[p] = pc
	}
	return pc
}

func (c *counters) snapshot() map[peer.ID]PeerStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[peer.ID]PeerStats, len(c.peers))
	for p, pc := range c.peers {
		out[p] = PeerStats{
			BytesSent:      pc.bytesSent.Load(),
			BlocksSent:     pc.blocksSent.Load(),
			BytesReceived:  pc.bytesReceived.Load(),
			BlocksReceived: pc.blocksReceived.Load(),
			DontHave:       pc.dontHave.Load(),
			BadBlocks:      pc.badBlocks.Load(),
			Busy:           pc.busy.Load(),
			Errors:         pc.errors.Load(),
			Waits:          pc.waits.Load(),
		}
	}
	return out
}
