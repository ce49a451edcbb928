package discovery_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	pb "github.com/libp2p/go-libp2p-kad-dht/pb"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/discovery"
)

// nobody authenticates no one: a member whose handshakes all failed.
type nobody struct{}

func (nobody) IsAuthenticated(peer.ID) bool                    { return false }
func (nobody) WaitAuthenticated(context.Context, peer.ID) bool { return false }

// TestGateBothWays: a node neither answers nor sends DHT requests to a peer
// its membership does not admit, whatever the other side does.
func TestGateBothWays(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	start := func(m discovery.Membership, bootstrap ...string) *node {
		h, _ := newHost(t, nil)
		d, err := discovery.New(h, discovery.Config{Membership: m, Bootstrap: bootstrap, LookupTimeout: 2 * time.Second, Logger: meshtest.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return &node{h: h, d: d}
	}
	open := start(anyone{})
	closed := start(nobody{}, open.addr())

	if slices.Contains(closed.h.Mux().Protocols(), "/ipfs/kad/1.0.0") || !slices.Contains(closed.h.Mux().Protocols(), closed.d.Protocol()) {
		t.Fatalf("protocols %v: want %s and not the public DHT's", closed.h.Mux().Protocols(), closed.d.Protocol())
	}
	if err := closed.d.Bootstrap(ctx); !errors.Is(err, discovery.ErrNoBootstrap) || !errors.Is(err, discovery.ErrNotMember) {
		t.Fatalf("bootstrap to a non-member: %v, want ErrNoBootstrap and ErrNotMember", err)
	}
	if _, err := ask(ctx, open.h, closed.id(), closed.d, pb.NewMessage(pb.Message_FIND_NODE, []byte(open.id()), 0)); err == nil {
		t.Fatal("closed node answered a non-member's FIND_NODE")
	}
	if rt := closed.d.RoutingTable(); len(rt) != 0 {
		t.Fatalf("closed node's routing table: %v", rt)
	}
	// After Close the protocol is gone from the host.
	closed.d.Close()
	if slices.Contains(closed.h.Mux().Protocols(), closed.d.Protocol()) {
		t.Fatal("DHT protocol still registered after Close")
	}
}
