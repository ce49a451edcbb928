package discovery

import (
	"context"
	"errors"
	"fmt"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ErrNotMember reports a peer that did not prove the cluster key.
var ErrNotMember = errors.New("discovery: peer is not an authenticated member")

// gatedHost is the host the DHT is given. kad-dht has no option to wrap
// its stream handler (it calls host.SetStreamHandler itself, and its
// OnRequestHook cannot refuse), and its filters do not cover everything:
// the routing-table filter is skipped for a peer that answered a query,
// and the query filter is skipped for the target of a FIND_NODE. So the
// gate sits at the host: handlers the DHT registers serve only
// authenticated peers (a peer still in its handshake is waited for), and
// the DHT's own streams are opened only to authenticated peers.
type gatedHost struct {
	host.Host
	members Membership
	// ctx ends with the Discovery; handlers waiting for a handshake stop.
	ctx context.Context
}

var _ host.Host = (*gatedHost)(nil)

func (g *gatedHost) SetStreamHandler(pid protocol.ID, handler network.StreamHandler) {
	g.Host.SetStreamHandler(pid, g.wrap(handler))
}

func (g *gatedHost) SetStreamHandlerMatch(pid protocol.ID, match func(protocol.ID) bool, handler network.StreamHandler) {
	g.Host.SetStreamHandlerMatch(pid, match, g.wrap(handler))
}

func (g *gatedHost) wrap(handler network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if !g.members.WaitAuthenticated(g.ctx, s.Conn().RemotePeer()) {
			_ = s.Reset()
			return
		}
		handler(s)
	}
}

// NewStream connects first, so that the authentication handshake starts,
// then waits for its verdict before opening the stream.
func (g *gatedHost) NewStream(ctx context.Context, p peer.ID, pids ...protocol.ID) (network.Stream, error) {
	if err := g.Host.Connect(ctx, peer.AddrInfo{ID: p}); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", p, err)
	}
	if !g.members.WaitAuthenticated(ctx, p) {
		return nil, fmt.Errorf("open DHT stream to %s: %w", p, ErrNotMember)
	}
	return g.Host.NewStream(ctx, p, pids...)
}
