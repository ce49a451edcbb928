package discovery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrNoBootstrap reports that no configured bootstrap peer could be joined.
var ErrNoBootstrap = errors.New("discovery: no bootstrap peer reachable and authenticated")

// identifyPoll is how often Bootstrap looks for a bootstrap peer's
// identify result; the host does not expose identify's own wait.
const identifyPoll = 10 * time.Millisecond

// Bootstrap connects to the configured bootstrap peers, waits until they
// are authenticated and in the routing table, then refreshes the table so
// the rest of the cluster is found. With no bootstrap peers it returns nil
// (the first node of a cluster). It fails only if none could be joined.
func (d *Discovery) Bootstrap(ctx context.Context) error {
	if len(d.boot) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.LookupTimeout)
	defer cancel()
	var errs []error
	joined := 0
	for _, ai := range d.boot {
		if err := d.join(ctx, ai); err != nil {
			errs = append(errs, err)
			d.log.Warn("bootstrap peer not joined", "peer", ai.ID, "err", err)
			continue
		}
		joined++
	}
	if joined == 0 {
		return fmt.Errorf("%w: %w", ErrNoBootstrap, errors.Join(errs...))
	}
	select {
	case err := <-d.dht.RefreshRoutingTable():
		if err != nil {
			return fmt.Errorf("refresh routing table: %w", err)
		}
	case <-ctx.Done():
		return fmt.Errorf("refresh routing table: %w", ctx.Err())
	}
	d.log.Info("joined the DHT", "bootstrap", joined, "routing_table", d.dht.RoutingTable().Size())
	return nil
}

// joinAttempts bounds how often join re-dials a bootstrap peer whose
// handshake failed without a refusal (a timeout under load, or a
// connection closed mid-handshake); a refused peer is turned away by the
// gater at the next dial, so retrying costs nothing then.
const joinAttempts = 3

const joinRetryPause = 100 * time.Millisecond

// join connects to one bootstrap peer and admits it to the routing table.
func (d *Discovery) join(ctx context.Context, ai peer.AddrInfo) error {
	if ai.ID == d.h.ID() {
		return nil
	}
	err := d.authenticate(ctx, ai)
	for i := 1; i < joinAttempts && err != nil; i++ {
		// Give the failed connection time to close, so the next dial
		// makes a fresh one with a fresh handshake.
		select {
		case <-time.After(joinRetryPause):
		case <-ctx.Done():
			return err
		}
		d.log.Info("bootstrap peer not authenticated, retrying", "peer", ai.ID, "attempt", i+1, "err", err)
		err = d.authenticate(ctx, ai)
	}
	if err != nil {
		return err
	}
	t := time.NewTicker(identifyPoll)
	defer t.Stop()
	for !d.admit(ctx, ai.ID) {
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("bootstrap peer %s never offered %s: %w", ai.ID, d.proto, ctx.Err())
		}
	}
	return nil
}

func (d *Discovery) authenticate(ctx context.Context, ai peer.AddrInfo) error {
	if err := d.h.Connect(ctx, ai); err != nil {
		return fmt.Errorf("connect to %s: %w", ai.ID, err)
	}
	if !d.cfg.Membership.WaitAuthenticated(ctx, ai.ID) {
		return fmt.Errorf("bootstrap peer %s: %w", ai.ID, ErrNotMember)
	}
	return nil
}
