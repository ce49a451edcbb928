package discovery

import (
	"context"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
)

// watchIdentified admits members to the routing table once both identify
// (which tells whether they speak the DHT protocol) and authentication
// have finished. kad-dht checks its routing-table filter when identify
// completes, which usually races the authentication handshake: a member
// rejected then would stay out of the table until it happened to answer
// one of our queries, and a member that only dials us never would.
func (d *Discovery) watchIdentified() {
	defer d.wg.Done()
	for {
		select {
		case <-d.ctx.Done():
			return
		case e, ok := <-d.sub.Out():
			if !ok {
				return
			}
			p := e.(event.EvtPeerIdentificationCompleted).Peer
			select {
			case d.sem <- struct{}{}:
			default:
				// Saturated: kad-dht's own periodic fix-up retries peers
				// later, and they pass its filter once authenticated.
				d.log.Debug("routing table admission queue full", "peer", p)
				continue
			}
			d.wg.Add(1)
			go func() {
				defer d.wg.Done()
				defer func() { <-d.sem }()
				d.admit(d.ctx, p)
			}()
		}
	}
}

// admit adds p to the routing table if it is an authenticated member that
// speaks our DHT protocol, and reports whether it is there.
func (d *Discovery) admit(ctx context.Context, p peer.ID) bool {
	if !d.cfg.Membership.WaitAuthenticated(ctx, p) {
		return false
	}
	if protos, err := d.h.Peerstore().SupportsProtocols(p, d.proto); err != nil || len(protos) == 0 {
		return false
	}
	if _, err := d.dht.RoutingTable().TryAddPeer(p, true, false); err != nil {
		d.log.Debug("routing table refused member", "peer", p, "err", err)
		return false
	}
	return true
}
