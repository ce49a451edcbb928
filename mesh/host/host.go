package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/connmgr"
	lphost "github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/muxer/yamux"
	"github.com/libp2p/go-libp2p/p2p/security/noise"
	quictpt "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// DefaultListen returns the listen addresses used when Config.Listen is
// empty: every interface, QUIC first, on ports the kernel picks.
func DefaultListen() []string {
	return []string{"/ip4/0.0.0.0/udp/0/quic-v1", "/ip4/0.0.0.0/tcp/0"}
}

// Config describes a host.
type Config struct {
	// DataDir holds identity.key; created if missing.
	DataDir string
	// Listen multiaddrs; DefaultListen() when empty.
	Listen []string
	// Announce, when set, replaces the addresses advertised to peers (for
	// nodes behind a known address translation).
	Announce []string
	// Limits for libp2p's resource manager; zero fields take defaults.
	Limits ResourceLimits
	// Gater, when set, vets connections (mesh/auth provides one).
	Gater connmgr.ConnectionGater
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
}

// Host is a libp2p host with meshcache's transports and limits.
type Host struct {
	lphost.Host
	buffers *udpBuffers
	closers []func() error
}

// New starts a host listening on cfg.Listen. The context bounds start-up
// only; Close stops the host.
func New(ctx context.Context, cfg Config) (*Host, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.DataDir == "" {
		return nil, errors.New("host: DataDir is required")
	}
	key, err := LoadOrCreateIdentity(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	listen := cfg.Listen
	if len(listen) == 0 {
		listen = DefaultListen()
	}
	announce, err := parseAddrs(cfg.Announce)
	if err != nil {
		return nil, fmt.Errorf("announce: %w", err)
	}
	rm, err := resourceManager(cfg.Limits)
	if err != nil {
		return nil, err
	}
	h := &Host{buffers: &udpBuffers{log: log}}
	opts := []libp2p.Option{
		libp2p.Identity(key),
		libp2p.ListenAddrStrings(listen...),
		libp2p.QUICReuse(newConnManager(h.buffers, &h.closers)),
		libp2p.Transport(quictpt.NewTransport),
		// SO_REUSEPORT would let a second daemon bind the same TCP port and
		// silently take half the connections; dialing from the listen port
		// only matters for NAT traversal, which a cluster does not need.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Security(noise.ID, noise.New),
		libp2p.Muxer(yamux.ID, yamux.DefaultTransport),
		libp2p.ResourceManager(rm),
		libp2p.UserAgent("meshcache"),
		// A cluster-internal mesh: no relays, hole punching or NAT port
		// mapping (all off unless enabled, relay is on by default).
		libp2p.DisableRelay(),
		// Prometheus collectors are registered by the daemon, not here;
		// libp2p's own would collide across hosts in one process.
		libp2p.DisableMetrics(),
	}
	if cfg.Gater != nil {
		opts = append(opts, libp2p.ConnectionGater(cfg.Gater))
	}
	if len(announce) > 0 {
		opts = append(opts, libp2p.AddrsFactory(func([]ma.Multiaddr) []ma.Multiaddr { return announce }))
	}
	lh, err := libp2p.New(opts...)
	if err != nil {
		// libp2p closes the resource manager only on some failure paths;
		// closing twice is harmless, leaking its goroutines is not.
		rm.Close()
		h.closeExtras()
		return nil, fmt.Errorf("start libp2p host: %w", err)
	}
	h.Host = lh
	log.Info("libp2p host started", "id", lh.ID(), "addrs", lh.Addrs())
	return h, nil
}

// Close stops the host and the QUIC sockets it owns.
func (h *Host) Close() error {
	err := h.Host.Close()
	return errors.Join(err, h.closeExtras())
}

func (h *Host) closeExtras() error {
	var errs []error
	for _, c := range h.closers {
		errs = append(errs, c())
	}
	h.closers = nil
	return errors.Join(errs...)
}

// UDPReceiveBuffer reports the smallest receive buffer granted to the QUIC
// sockets (false before any was opened).
func (h *Host) UDPReceiveBuffer() (int, bool) { return h.buffers.receiveBuffer() }

// Identity is what `meshcache id` prints.
type Identity struct {
	ID    string   `json:"id"`
	Addrs []string `json:"addrs"`
}

// ID returns the peer ID and the full multiaddrs (ending in /p2p/<id>)
// peers can dial, for `meshcache id` and GET /v1/id.
func ID(h lphost.Host) Identity {
	info := peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
	full, err := peer.AddrInfoToP2pAddrs(&info)
	id := Identity{ID: h.ID().String(), Addrs: []string{}}
	if err != nil {
		return id
	}
	for _, a := range full {
		id.Addrs = append(id.Addrs, a.String())
	}
	return id
}

func parseAddrs(ss []string) ([]ma.Multiaddr, error) {
	out := make([]ma.Multiaddr, 0, len(ss))
	for _, s := range ss {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		out = append(out, a)
	}
	return out, nil
}
