package discovery_test

import (
	"context"
	"slices"
	"testing"
	"time"

	pb "github.com/libp2p/go-libp2p-kad-dht/pb"
	lphost "github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-msgio"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/discovery"
	"google.golang.org/protobuf/proto"
)

// anyone is the membership of a stranger that wants to talk to everybody:
// it checks nothing, so every refusal the test sees comes from the
// members.
type anyone struct{}

func (anyone) IsAuthenticated(peer.ID) bool                    { return true }
func (anyone) WaitAuthenticated(context.Context, peer.ID) bool { return true }

// TestStrangerRefused: nodes outside the cluster get no DHT answer and never
// enter a member's routing table, whether they run a DHT under the same
// prefix or speak the protocol by hand.
func TestStrangerRefused(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 3)
	ctx := ctxT(t)
	root := testRoot("secret-dataset")
	if err := nodes[1].d.Provide(ctx, root, "A"); err != nil {
		t.Fatal(err)
	}
	key, err := discovery.ProviderKey(root, "A")
	if err != nil {
		t.Fatal(err)
	}

	// Sanity: the same hand-made request from a member is answered, so the
	// refusals below are not a malformed request.
	t.Run("member control", func(t *testing.T) {
		// ADD_PROVIDER is one-way: Provide returns before the member has
		// stored the record, so poll.
		var provs []peer.ID
		meshtest.Eventually(t, "member answers with the provider", func() bool {
			req := pb.NewMessage(pb.Message_GET_PROVIDERS, key.Hash(), 0)
			resp, err := ask(ctx, nodes[2].h, nodes[0].id(), nodes[0].d, req)
			if err != nil {
				t.Fatalf("member's request failed: %v", err)
			}
			provs = provs[:0]
			for _, ai := range pb.PBPeersToPeerInfos(resp.ProviderPeers) {
				provs = append(provs, ai.ID)
			}
			return slices.Contains(provs, nodes[1].id())
		})
	})

	// A stranger running a DHT under the same prefix, with a membership
	// that trusts everyone, so it really sends requests: once with another
	// cluster key (refused by the handshake), once with no handshake at
	// all (the member's DHT handler waits, then resets).
	for _, tc := range []struct {
		name string
		keys auth.Keys
	}{{"DHT with another cluster key", meshtest.Keys(t)}, {"DHT without a handshake", nil}} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := newHost(t, tc.keys)
			d, err := discovery.New(h, discovery.Config{
				Membership:        anyone{},
				Bootstrap:         []string{nodes[0].addr()},
				RecordTTL:         testTTL,
				ReprovideInterval: testReprovide,
				LookupTimeout:     2 * time.Second,
				Logger:            meshtest.Quiet(),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			berr := d.Bootstrap(ctx)
			got, err := d.FindHolders(ctx, root, "A", 10)
			t.Logf("stranger bootstrap: %v; routing table %v; holders %v, %v", berr, d.RoutingTable(), ids(got), err)
			if len(got) != 0 {
				t.Fatalf("stranger found holders %v", ids(got))
			}
			if tc.keys != nil {
				meshtest.Eventually(t, "members refuse the stranger", func() bool { return nodes[0].auth.Verdicts().Refused(h.ID()) })
			}
			assertNotInRoutingTables(t, nodes, h.ID())
		})
	}

	t.Run("raw FIND_NODE and GET_PROVIDERS without a handshake", func(t *testing.T) {
		h, _ := newHost(t, nil)
		target := nodes[0]
		if err := h.Connect(ctx, peer.AddrInfo{ID: target.id(), Addrs: target.h.Addrs()}); err != nil {
			t.Fatalf("transport-level connect: %v", err)
		}
		reqs := []*pb.Message{
			pb.NewMessage(pb.Message_FIND_NODE, []byte(target.id()), 0),
			pb.NewMessage(pb.Message_GET_PROVIDERS, key.Hash(), 0),
		}
		start := time.Now()
		for _, req := range reqs {
			if resp, err := ask(ctx, h, target.id(), target.d, req); err == nil {
				t.Fatalf("%v answered: %d closer peers, %d providers", req.Type, len(resp.CloserPeers), len(resp.ProviderPeers))
			}
		}
		t.Logf("refused after %v", time.Since(start))
		assertNotInRoutingTables(t, nodes, h.ID())
	})

}

// ask sends one DHT request on a fresh stream and reads the answer.
func ask(ctx context.Context, h lphost.Host, p peer.ID, d *discovery.Discovery, req *pb.Message) (*pb.Message, error) {
	s, err := h.NewStream(ctx, p, d.Protocol())
	if err != nil {
		return nil, err
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	b, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := msgio.NewVarintWriter(s).WriteMsg(b); err != nil {
		return nil, err
	}
	msg, err := msgio.NewVarintReaderSize(s, 1<<20).ReadMsg()
	if err != nil {
		return nil, err
	}
	var resp pb.Message
	if err := proto.Unmarshal(msg, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

func assertNotInRoutingTables(t *testing.T, nodes []*node, p peer.ID) {
	t.Helper()
	for i, n := range nodes {
		if slices.Contains(n.d.RoutingTable(), p) {
			t.Fatalf("stranger %s in member %d's routing table", p, i)
		}
	}
}
