package discovery

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Provide records this node as a holder of dataset root in region, now
// and, while Run runs, every ReprovideInterval until Unprovide. An error
// means the record was not placed now (for example, no member known yet);
// the pair stays in the set and Run retries it.
func (d *Discovery) Provide(ctx context.Context, root cid.Cid, region string) error {
	key, err := ProviderKey(root, region)
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.provided[Provision{Root: root, Region: region}] = struct{}{}
	d.mu.Unlock()
	return d.provideKey(ctx, key, root, region)
}

// Unprovide stops re-providing (root, region); records already placed
// lapse within RecordTTL.
func (d *Discovery) Unprovide(root cid.Cid, region string) {
	d.mu.Lock()
	delete(d.provided, Provision{Root: root, Region: region})
	d.mu.Unlock()
}

func (d *Discovery) provideKey(ctx context.Context, key, root cid.Cid, region string) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.LookupTimeout)
	defer cancel()
	if err := d.dht.Provide(ctx, key, true); err != nil {
		return fmt.Errorf("provide dataset %s in region %q: %w", root, region, err)
	}
	return nil
}

// FindHolders returns up to limit members (DefaultHolderLimit when limit
// <= 0) that provide dataset root in region, this node excluded. Holders
// in other regions are under other keys and never returned.
func (d *Discovery) FindHolders(ctx context.Context, root cid.Cid, region string, limit int) ([]peer.AddrInfo, error) {
	key, err := ProviderKey(root, region)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultHolderLimit
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.LookupTimeout)
	defer cancel()
	var out []peer.AddrInfo
	// One more than asked, in case this node is among the providers.
	for ai := range d.dht.FindProvidersAsync(ctx, key, limit+1) {
		if ai.ID == d.h.ID() || !d.usable(ai.ID) {
			continue
		}
		out = append(out, ai)
		if len(out) == limit {
			break
		}
	}
	if len(out) == 0 {
		if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("find holders of %s in region %q: %w", root, region, err)
		}
	}
	return out, nil
}

// usable drops a provider that is connected but failed authentication: a
// record can only have come from a member, but the peer ID may since have
// been refused.
func (d *Discovery) usable(p peer.ID) bool {
	return d.cfg.Membership.IsAuthenticated(p) || len(d.h.Network().ConnsToPeer(p)) == 0
}

// Provided lists the (root, region) pairs this node provides, sorted.
func (d *Discovery) Provided() []Provision {
	d.mu.Lock()
	out := make([]Provision, 0, len(d.provided))
	for p := range d.provided {
		out = append(out, p)
	}
	d.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Region != out[j].Region {
			return out[i].Region < out[j].Region
		}
		return out[i].Root.KeyString() < out[j].Root.KeyString()
	})
	return out
}

// Provision is one dataset a node provides in one region.
type Provision struct {
	Root   cid.Cid
	Region string
}

// Run re-provides the provided set every ReprovideInterval (and first
// bootstraps, retrying on the same interval while the routing table is
// empty) until ctx ends. Close stops the DHT itself.
func (d *Discovery) Run(ctx context.Context) error {
	t := time.NewTicker(d.cfg.ReprovideInterval)
	defer t.Stop()
	for {
		if d.dht.RoutingTable().Size() == 0 {
			if err := d.Bootstrap(ctx); err != nil && ctx.Err() == nil {
				d.log.Warn("bootstrap", "err", err)
			}
		}
		d.reprovide(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-d.ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// reprovide provides every pair once; failures are logged and retried on
// the next round, which comes before the records lapse.
func (d *Discovery) reprovide(ctx context.Context) {
	for _, p := range d.Provided() {
		if ctx.Err() != nil {
			return
		}
		key, err := ProviderKey(p.Root, p.Region)
		if err == nil {
			err = d.provideKey(ctx, key, p.Root, p.Region)
		}
		if err != nil {
			d.log.Warn("re-provide", "root", p.Root, "region", p.Region, "err", err)
		}
	}
}
