package node

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/avail"
	"github.com/meshcache/meshcache/mesh/discovery"
	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/mesh/host"
	"github.com/meshcache/meshcache/mesh/labels"
	"github.com/meshcache/meshcache/mesh/policy"
)

// MeshConfig joins the daemon to a cluster. The mesh is on when ClusterKeys
// is set: without a key there is nobody the daemon could admit.
type MeshConfig struct {
	// ClusterKeys are cluster key files (`meshcache keygen`); the first is
	// preferred, the others are accepted too, for rotation.
	ClusterKeys []string
	// Listen and Announce are libp2p multiaddrs; defaults from mesh/host.
	Listen   []string
	Announce []string
	// Bootstrap are full multiaddrs (ending in /p2p/ID) of members to join.
	Bootstrap []string
	// Topology labels.
	Region, Zone, Rack string
	// MDNS finds members on the local network by multicast DNS (off by
	// default: it multicasts on every interface).
	MDNS bool
	// CrossRegion lets a node fetch from holders in other regions before
	// the origin, when no holder of its own region has a block (the
	// blocks then count as cross-region bytes).
	CrossRegion bool
	// PieceBlocks is the size in blocks of the pieces whose origin reads
	// the members of a region share out (policy.DefaultPieceBlocks when
	// 0). Every member of a cluster must use the same value.
	PieceBlocks int
	// ProgressTimeout is how long a piece's owner may stay silent before
	// the next member in line takes the piece over (DefaultProgressTimeout
	// when 0).
	ProgressTimeout time.Duration
}

// DefaultProgressTimeout gives a piece's owner time for a slow origin
// read (it sends keepalives meanwhile) yet lets a stopped owner cost
// seconds, not the pin.
const DefaultProgressTimeout = 10 * time.Second

// enabled reports whether the daemon joins a mesh.
func (c MeshConfig) enabled() bool { return len(c.ClusterKeys) > 0 }

// meshNode is the daemon's part in the mesh: the host, the membership
// check, the private DHT and the block server.
type meshNode struct {
	cfg       MeshConfig
	log       *slog.Logger
	host      *host.Host
	auth      *auth.Authenticator
	discovery *discovery.Discovery
	blocks    *exchange.Server
	client    *exchange.Client
	avail     *avail.Service
	cache     holderCache
	penalties penalties
	labels    *labels.Book
	load      inFlight
	// progressTimeout is MeshConfig.ProgressTimeout with its default.
	progressTimeout time.Duration

	// announcements run in goroutines owned here, under run's context.
	mu  sync.Mutex
	ctx context.Context
	wg  sync.WaitGroup
	// tracked counts the running plans per dataset (coord.go).
	tracked map[cid.Cid]int
	// pinging are the silent holders being pinged (peersource.go).
	pinging map[peer.ID]bool
}

// startMesh brings the host up and registers the protocols; run owns the
// DHT's loop and close releases everything.
func (n *Node) startMesh(ctx context.Context) (*meshNode, error) {
	cfg := n.cfg.Mesh
	keys, err := auth.LoadKeys(cfg.ClusterKeys...)
	if err != nil {
		return nil, err
	}
	log := n.log.With("component", "mesh")
	verdicts := auth.NewVerdicts(0)
	h, err := host.New(ctx, host.Config{DataDir: n.cfg.DataDir, Listen: cfg.Listen, Announce: cfg.Announce, Gater: verdicts, Logger: log})
	if err != nil {
		return nil, err
	}
	// ctx is Run's: announcements may start as soon as pins resume.
	m := &meshNode{cfg: cfg, log: log, host: h, ctx: ctx, cache: holderCache{entries: map[string]holderEntry{}}, tracked: map[cid.Cid]int{}, progressTimeout: cfg.ProgressTimeout}
	if m.progressTimeout <= 0 {
		m.progressTimeout = DefaultProgressTimeout
	}
	m.penalties.log = func(p peer.ID, err error) {
		log.Warn("peer penalised: it is asked last for a while", "peer", p, "for", penaltyTime, "err", err)
	}
	if m.auth, err = auth.New(h, auth.Config{Keys: keys, Verdicts: verdicts, Logger: log}); err != nil {
		m.close()
		return nil, err
	}
	if m.discovery, err = discovery.New(h, discovery.Config{Membership: m.auth, Bootstrap: cfg.Bootstrap, MDNS: cfg.MDNS, Logger: log}); err != nil {
		m.close()
		return nil, err
	}
	if err := m.discovery.StartMDNS(); err != nil {
		m.close()
		return nil, err
	}
	// A piece's owner queues peers' wants of its blocks until they land,
	// with keepalives often enough that a live owner is never mistaken
	// for a stopped one.
	if m.blocks, err = exchange.NewServer(h, exchange.ServerConfig{
		Blocks: n.store, Wrap: m.auth.Wrap, Pending: n.prefetch.Pending,
		KeepAlive: m.progressTimeout / 5, Logger: log,
	}); err != nil {
		m.close()
		return nil, err
	}
	if m.labels, err = labels.New(h, labels.Config{
		Local: policy.Labels{Region: cfg.Region, Zone: cfg.Zone, Rack: cfg.Rack}, Wrap: m.auth.Wrap, Logger: log,
	}); err != nil {
		m.close()
		return nil, err
	}
	// Members pinning a dataset tell each other which leaves they hold,
	// so that a block is fetched from whoever has it, not only its owner.
	if m.avail, err = avail.New(h, avail.Config{Wrap: m.auth.Wrap, Admit: m.auth.WaitAuthenticated, Logger: log}); err != nil {
		m.close()
		return nil, err
	}
	if m.client, err = exchange.NewClient(h, exchange.ClientConfig{IdleTimeout: m.progressTimeout, Logger: log}); err != nil {
		m.close()
		return nil, err
	}
	log.Info("mesh up", "peer_id", h.ID(), "addrs", host.ID(h).Addrs, "region", cfg.Region)
	return m, nil
}

// run owns the DHT's loop and the announcements; it announces the pins
// that completed before this start.
func (m *meshNode) run(ctx context.Context, pinned []cid.Cid) error {
	for _, root := range pinned {
		m.announce(root)
	}
	err := m.discovery.Run(ctx)
	m.mu.Lock()
	m.ctx = nil
	m.mu.Unlock()
	m.wg.Wait()
	return err
}

func (m *meshNode) close() {
	if m.blocks != nil {
		m.blocks.Close()
	}
	if m.avail != nil {
		m.avail.Close()
	}
	if m.labels != nil {
		m.labels.Close()
	}
	if m.discovery != nil {
		m.discovery.Close()
	}
	if m.auth != nil {
		m.auth.Close()
	}
	m.host.Close()
}

func (m *meshNode) identity() api.Identity {
	id := host.ID(m.host)
	return api.Identity{PeerID: id.ID, Addrs: id.Addrs, Region: m.cfg.Region, Zone: m.cfg.Zone, Rack: m.cfg.Rack}
}

// peers lists connected members. Peers that have not proven a cluster key
// are not members and are never listed.
func (m *meshNode) peers() []api.PeerInfo {
	var out []api.PeerInfo
	for _, p := range m.host.Network().Peers() {
		if !m.auth.IsAuthenticated(p) {
			continue
		}
		info := api.PeerInfo{PeerID: p.String(), Authenticated: true}
		if l, ok := m.labels.Get(p); ok {
			info.Region, info.Zone, info.Rack = l.Region, l.Zone, l.Rack
		}
		for _, c := range m.host.Network().ConnsToPeer(p) {
			info.Addrs = append(info.Addrs, c.RemoteMultiaddr().String())
			if info.Transport == "" {
				info.Transport = transport(c)
			}
			if info.Connected.IsZero() || c.Stat().Opened.Before(info.Connected) {
				info.Connected = c.Stat().Opened
			}
		}
		if rtt := m.host.Peerstore().LatencyEWMA(p); rtt > 0 {
			info.RTTMillis = float64(rtt.Microseconds()) / 1000
		}
		if st, ok := m.blocks.Stats()[p]; ok {
			info.BytesSent = st.BytesSent
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PeerID < out[j].PeerID })
	return out
}

// transport names a connection's transport for people: quic-v1 or tcp.
func transport(c network.Conn) string {
	a := c.RemoteMultiaddr().String()
	if strings.Contains(a, "/quic-v1") {
		return "quic-v1"
	}
	return "tcp"
}

// noMesh answers ID and Peers on a daemon started without a cluster key.
func noMesh() error {
	return api.Errorf(http.StatusNotImplemented, api.CodeNotAvailable,
		"this daemon runs without the peer-to-peer mesh: start it with --cluster-key FILE (see `meshcache keygen`)")
}

// FindHolders lists the members of this node's region that announced root
// (peer IDs, nearest first). It is for diagnostics and demos; pins and
// reads find holders by themselves.
func (n *Node) FindHolders(ctx context.Context, root cid.Cid) ([]string, error) {
	if n.mesh == nil {
		return nil, noMesh()
	}
	infos, err := n.mesh.discovery.FindHolders(ctx, root, n.mesh.cfg.Region, 16)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(infos))
	for _, i := range infos {
		out = append(out, i.ID.String())
	}
	return out, nil
}

// stats sums the block exchange's counters over peers.
func (m *meshNode) stats() *api.PeerStats {
	st := &api.PeerStats{Connected: len(m.peers())}
	for _, ps := range m.blocks.Stats() {
		st.BytesSent += ps.BytesSent
	}
	for _, ps := range m.client.Stats() {
		st.BytesReceived += ps.BytesReceived
		st.BadBlocks += ps.BadBlocks
	}
	return st
}
