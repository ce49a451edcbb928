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
	return d.provide(ctx, Provision{Root: root, Region: region})
}

// Unprovide stops re-providing (root, region); records already placed
// lapse within RecordTTL.
func (d *Discovery) Unprovide(root cid.Cid, region string) {
	d.unprovide(Provision{Root: root, Region: region})
}

// Want records this node as pinning dataset root in region, kept like
// Provide's records until Unwant.
func (d *Discovery) Want(ctx context.Context, root cid.Cid, region string) error {
	return d.provide(ctx, Provision{Root: root, Region: region, Want: true})
}

// Unwant stops re-recording the want of (root, region).
func (d *Discovery) Unwant(root cid.Cid, region string) {
	d.unprovide(Provision{Root: root, Region: region, Want: true})
}

func (d *Discovery) provide(ctx context.Context, p Provision) error {
	key, err := p.key()
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.provided[p] = struct{}{}
	d.mu.Unlock()
	return d.provideKey(ctx, key, p)
}

func (d *Discovery) unprovide(p Provision) {
	d.mu.Lock()
	delete(d.provided, p)
	d.mu.Unlock()
}

func (d *Discovery) provideKey(ctx context.Context, key cid.Cid, p Provision) error {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.LookupTimeout)
	defer cancel()
	if err := d.dht.Provide(ctx, key, true); err != nil {
		what := "provide"
		if p.Want {
			what = "record want of"
		}
		return fmt.Errorf("%s dataset %s in region %q: %w", what, p.Root, p.Region, err)
	}
	return nil
}

// FindHolders returns up to limit members (DefaultHolderLimit when limit
// <= 0) that provide dataset root in region, this node excluded. Holders
// in other regions are under other keys and never returned.
func (d *Discovery) FindHolders(ctx context.Context, root cid.Cid, region string, limit int) ([]peer.AddrInfo, error) {
	return d.find(ctx, Provision{Root: root, Region: region}, limit)
}

// FindWanters returns up to limit members (DefaultHolderLimit when limit
// <= 0) recorded as pinning dataset root in region, this node excluded.
func (d *Discovery) FindWanters(ctx context.Context, root cid.Cid, region string, limit int) ([]peer.AddrInfo, error) {
	return d.find(ctx, Provision{Root: root, Region: region, Want: true}, limit)
}

func (d *Discovery) find(ctx context.Context, p Provision, limit int) ([]peer.AddrInfo, error) {
	root, region := p.Root, p.Region
	key, err := p.key()
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = DefaultHolderLimit
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.LookupTimeout)
	defer cancel()
	var out []peer.AddrInfo
	// One more than asked, in case this node is among the providers. A
	// lookup that has found fewer than asked runs on until its query ends,
	// which a member that stopped (still in routing tables) holds up for a
	// dial timeout; once something is found, Linger more is all it gets.
	results := d.dht.FindProvidersAsync(ctx, key, limit+1)
	var linger <-chan time.Time
collect:
	for {
		select {
		case ai, ok := <-results:
			if !ok {
				break collect
			}
			if ai.ID == d.h.ID() || !d.usable(ai.ID) {
				continue
			}
			out = append(out, ai)
			if len(out) == limit {
				break collect
			}
			if linger == nil {
				t := time.NewTimer(d.cfg.Linger)
				defer t.Stop()
				linger = t.C
			}
		case <-linger:
			break collect
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
		if out[i].Want != out[j].Want {
			return !out[i].Want
		}
		return out[i].Root.KeyString() < out[j].Root.KeyString()
	})
	return out
}

// Provision is one dataset a node provides (holds, or with Want, is
// pinning) in one region.
type Provision struct {
	Root   cid.Cid
	Region string
	Want   bool
}

func (p Provision) key() (cid.Cid, error) {
	if p.Want {
		return WantKey(p.Root, p.Region)
	}
	return ProviderKey(p.Root, p.Region)
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
		key, err := p.key()
		if err == nil {
			err = d.provideKey(ctx, key, p)
		}
		if err != nil {
			d.log.Warn("re-provide", "root", p.Root, "region", p.Region, "err", err)
		}
	}
}
