package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p-kad-dht/records"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// kadSuffix is what kad-dht appends to the prefix.
const kadSuffix = "/kad/1.0.0"

// maxAdmitting bounds concurrent routing-table admissions, each of which
// may wait out an authentication handshake.
const maxAdmitting = 32

// Discovery is one node's view of the private DHT.
type Discovery struct {
	h     host.Host
	cfg   Config
	log   *slog.Logger
	boot  []peer.AddrInfo
	dht   *dht.IpfsDHT
	proto protocol.ID

	mu       sync.Mutex
	provided map[Provision]struct{}

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	sub    event.Subscription
	sem    chan struct{}
	mdns   interface{ Close() error } // nil unless StartMDNS started it

	closeOnce sync.Once
	closeErr  error
}

// New starts the DHT on h; Close stops it. Bootstrap (or Run) joins the
// cluster.
func New(h host.Host, cfg Config) (*Discovery, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	boot, _ := ParseBootstrap(cfg.Bootstrap) // checked by Validate
	d := &Discovery{
		h:        h,
		cfg:      cfg,
		log:      cfg.Logger,
		boot:     boot,
		proto:    cfg.ProtocolPrefix + kadSuffix,
		provided: make(map[Provision]struct{}),
		sem:      make(chan struct{}, maxAdmitting),
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	// Subscribe before the DHT registers its protocol, so no identification
	// of a peer that speaks it is missed.
	sub, err := h.EventBus().Subscribe(new(event.EvtPeerIdentificationCompleted))
	if err != nil {
		d.cancel()
		return nil, fmt.Errorf("subscribe to identify events: %w", err)
	}
	d.sub = sub
	gated := &gatedHost{Host: h, members: cfg.Membership, ctx: d.ctx}
	d.dht, err = dht.New(gated, d.options()...)
	if err != nil {
		sub.Close()
		d.cancel()
		return nil, fmt.Errorf("start DHT: %w", err)
	}
	d.wg.Add(1)
	go d.watchIdentified()
	return d, nil
}

func (d *Discovery) options() []dht.Option {
	members := d.cfg.Membership
	return []dht.Option{
		dht.Mode(dht.ModeServer),
		dht.ProtocolPrefix(d.cfg.ProtocolPrefix),
		// Only the configured peers: kad-dht would otherwise fall back to
		// nothing, but say it rather than rely on a default.
		dht.BootstrapPeers(d.boot...),
		dht.RoutingTableFilter(func(_ any, p peer.ID) bool { return members.IsAuthenticated(p) }),
		// A connected peer must already be authenticated. A peer we are not
		// connected to is let through: dialing it starts the handshake and
		// gatedHost.NewStream waits for the verdict before any DHT message.
		// Without this, lookups could reach only peers already connected.
		dht.QueryFilter(func(_ any, ai peer.AddrInfo) bool {
			return members.IsAuthenticated(ai.ID) || len(d.h.Network().ConnsToPeer(ai.ID)) == 0
		}),
		// meshcache stores no values (PutValue); only provider records.
		// dht.MaxRecordAge applies to values only, so it is not the knob
		// for provider validity: records.ProvideValidity is.
		dht.DisableValues(),
		dht.ProviderManagerOpts(
			records.ProvideValidity(d.cfg.RecordTTL),
			records.ProviderAddrTTL(d.cfg.RecordTTL),
			records.CleanupInterval(d.cfg.RecordTTL),
		),
	}
}

// Close stops the DHT and waits for the goroutines New started. It may be
// called more than once.
func (d *Discovery) Close() error {
	d.closeOnce.Do(func() {
		// kad-dht's Close leaves its handler on the host, which outlives it.
		d.h.RemoveStreamHandler(d.proto)
		var mdnsErr error
		if d.mdns != nil {
			mdnsErr = d.mdns.Close()
		}
		d.cancel()
		err := d.sub.Close()
		d.wg.Wait()
		d.closeErr = errors.Join(mdnsErr, err, d.dht.Close())
	})
	return d.closeErr
}

// Protocol is the DHT's protocol ID (prefix + /kad/1.0.0).
func (d *Discovery) Protocol() protocol.ID { return d.proto }

// RoutingTable lists the peers in the DHT's routing table.
func (d *Discovery) RoutingTable() []peer.ID { return d.dht.RoutingTable().ListPeers() }
