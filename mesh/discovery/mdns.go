package discovery

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
)

// StartMDNS starts finding members by multicast DNS when Config.MDNS is
// set; Close stops it. A peer found is joined like a bootstrap peer: the
// handshake decides whether it is a member.
func (d *Discovery) StartMDNS() error {
	if !d.cfg.MDNS {
		return nil
	}
	svc := mdns.NewMdnsService(d.h, MDNSService, mdnsNotifee{d})
	if err := svc.Start(); err != nil {
		return fmt.Errorf("start mDNS: %w", err)
	}
	d.mdns = svc
	return nil
}

// mdnsNotifee joins each peer mDNS finds, in a goroutine the Discovery
// owns.
type mdnsNotifee struct{ d *Discovery }

func (n mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	d := n.d
	if ai.ID == d.h.ID() || d.ctx.Err() != nil {
		return
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		if err := d.join(d.ctx, ai); err != nil {
			d.log.Debug("peer found by mDNS not joined", "peer", ai.ID, "err", err)
			return
		}
		d.log.Info("joined a member found by mDNS", "peer", ai.ID)
	}()
}
