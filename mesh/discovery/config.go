package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
)

// Defaults.
const (
	// DefaultProtocolPrefix keeps the DHT apart from the public IPFS one
	// (which runs under /ipfs).
	DefaultProtocolPrefix protocol.ID = "/meshcache"
	// DefaultRecordTTL is how long a provider record lives on the nodes
	// that store it: short, so a node that left stops being advertised
	// within minutes.
	DefaultRecordTTL = 10 * time.Minute
	// DefaultReprovideInterval is a third of the TTL, so a record survives
	// one missed re-provide.
	DefaultReprovideInterval = DefaultRecordTTL / 3
	// DefaultLookupTimeout bounds one provide or one holder lookup.
	DefaultLookupTimeout = 30 * time.Second
	// DefaultLinger: records of one key come from the same few closest
	// members, within a round trip or two of each other.
	DefaultLinger = 250 * time.Millisecond
	// DefaultHolderLimit is FindHolders' limit when the caller passes none.
	DefaultHolderLimit = 20
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("discovery: invalid config")

// Membership says which peers proved the cluster key; *auth.Authenticator
// implements it.
type Membership interface {
	// IsAuthenticated reports whether p has proven a cluster key on its
	// current connections.
	IsAuthenticated(p peer.ID) bool
	// WaitAuthenticated waits for a handshake with p in progress and
	// reports whether p is authenticated.
	WaitAuthenticated(ctx context.Context, p peer.ID) bool
}

// Config configures a Discovery.
type Config struct {
	// Membership decides who takes part in the DHT. Required.
	Membership Membership
	// Bootstrap multiaddrs, each ending in /p2p/<id>. None by default: a
	// lone first node needs none.
	Bootstrap []string
	// ProtocolPrefix of the DHT protocol; DefaultProtocolPrefix when empty.
	// Every member must use the same one; /ipfs is refused.
	ProtocolPrefix protocol.ID
	// RecordTTL is the validity of provider records this node stores for
	// others. Every member should use the same value.
	RecordTTL time.Duration
	// ReprovideInterval is how often Run re-provides; must be below
	// RecordTTL.
	ReprovideInterval time.Duration
	// LookupTimeout bounds each provide and each lookup.
	LookupTimeout time.Duration
	// Linger is how long a lookup goes on collecting once it has found a
	// first record (DefaultLinger when 0).
	Linger time.Duration
	// MDNS finds members on the local network by multicast DNS
	// (MDNSService) and joins them like bootstrap peers. Off by default:
	// it multicasts on every interface of the host.
	MDNS   bool
	Logger *slog.Logger
}

// MDNSService is the mDNS service name members announce, apart from the
// public IPFS one (_p2p._udp), so that meshcache daemons find only each
// other (and still admit only members).
const MDNSService = "_meshcache._udp"

func (c Config) withDefaults() Config {
	if c.ProtocolPrefix == "" {
		c.ProtocolPrefix = DefaultProtocolPrefix
	}
	if c.RecordTTL == 0 {
		c.RecordTTL = DefaultRecordTTL
	}
	if c.ReprovideInterval == 0 {
		c.ReprovideInterval = c.RecordTTL / 3
	}
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	}
	if c.LookupTimeout == 0 {
		c.LookupTimeout = DefaultLookupTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field (after defaults are applied).
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.Membership == nil:
		return fmt.Errorf("%w: Membership is required", ErrConfig)
	case !strings.HasPrefix(string(c.ProtocolPrefix), "/") || c.ProtocolPrefix == "/ipfs":
		return fmt.Errorf("%w: ProtocolPrefix %q: want a private prefix such as %s", ErrConfig, c.ProtocolPrefix, DefaultProtocolPrefix)
	case c.RecordTTL < 0:
		return fmt.Errorf("%w: RecordTTL %v is negative", ErrConfig, c.RecordTTL)
	case c.ReprovideInterval <= 0 || c.ReprovideInterval >= c.RecordTTL:
		return fmt.Errorf("%w: ReprovideInterval %v: want positive and below RecordTTL %v", ErrConfig, c.ReprovideInterval, c.RecordTTL)
	case c.LookupTimeout < 0:
		return fmt.Errorf("%w: LookupTimeout %v is negative", ErrConfig, c.LookupTimeout)
	}
	if _, err := ParseBootstrap(c.Bootstrap); err != nil {
		return fmt.Errorf("%w: Bootstrap: %w", ErrConfig, err)
	}
	return nil
}

// ParseBootstrap turns multiaddrs ending in /p2p/<id> into peers, merging
// addresses of the same peer.
func ParseBootstrap(addrs []string) ([]peer.AddrInfo, error) {
	mas := make([]ma.Multiaddr, 0, len(addrs))
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", s, err)
		}
		mas = append(mas, a)
	}
	infos, err := peer.AddrInfosFromP2pAddrs(mas...)
	if err != nil {
		return nil, fmt.Errorf("bootstrap addresses (each needs /p2p/<id>): %w", err)
	}
	return infos, nil
}
