package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	pb "github.com/libp2p/go-libp2p-kad-dht/pb"
	lphost "github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-msgio"
	"google.golang.org/protobuf/proto"

	"github.com/meshcache/meshcache/mesh/avail"
	"github.com/meshcache/meshcache/mesh/discovery"
	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/mesh/labels"
	"github.com/meshcache/meshcache/mesh/policy"
)

// TestMeshStranger: a libp2p host outside the cluster, with another cluster
// key or with none (it never starts the handshake, so the daemon waits out
// its authentication timeout), gets nothing from a daemon: its block
// requests are refused with no block, its DHT requests under the mesh's
// prefix (FIND_NODE, GET_PROVIDERS, and a whole kad-dht that trusts
// everyone) are refused, it learns neither the other member nor the
// dataset's holders, it is never listed as a peer, it enters no routing
// table, and the holder record it announces reaches no member.
//
// mesh/discovery tests the DHT gate on bare DHTs; this is the same refusal
// at the daemon, with its block server and API.
func TestMeshStranger(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	key := writeKey(t)
	files := []fixtureFile{{"a.bin", mib + 5}, {"b.txt", 3000}}
	dir, root := publishFiles(t, files)
	originURL := "file://" + dir
	a := originMember(t, key, originURL)
	idA, infoA := daemonInfo(ctx, t, a)
	mustPin(ctx, t, a.c, root, originURL)
	b := originMember(t, key, originURL, idA.Addrs[0])
	_, infoB := daemonInfo(ctx, t, b)
	// The holder record and the other member are there to be learned.
	waitHolders(ctx, t, b, root)
	eventuallyTrue(t, "the members in each other's routing tables", func() bool {
		return slices.Contains(a.n.mesh.discovery.RoutingTable(), infoB.ID) && slices.Contains(b.n.mesh.discovery.RoutingTable(), infoA.ID)
	})
	leaves := leafCIDs(t, dir, files)
	provKey, err := discovery.ProviderKey(root, "eu")
	if err != nil {
		t.Fatal(err)
	}
	members := []*testDaemon{a, b}

	// The strangers run side by side (one waits out the authentication
	// timeout); the group ends when both have.
	t.Run("strangers", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			keys []string
		}{
			{"another cluster key", []string{writeKey(t)}},
			{"no handshake", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				s := newRogue(t, tc.keys...)
				if err := s.h.Connect(ctx, infoA); err != nil {
					t.Logf("transport connect: %v", err)
				}
				client := s.client(exchange.ClientConfig{})
				dht := s.startDHT(discovery.Config{Membership: trustAll{}, Bootstrap: idA.Addrs[:1], LookupTimeout: 3 * time.Second})
				// The stranger's requests run at once: without a handshake
				// each waits out the daemon's authentication timeout.
				var wg sync.WaitGroup
				var delivered atomic.Int64
				errs := make(chan error, 8)
				wg.Go(func() {
					missing, err := client.Fetch(ctx, infoA.ID, leaves, func(blocks.Block) error {
						delivered.Add(1)
						return nil
					})
					if err == nil || len(missing) != len(leaves) {
						errs <- fmt.Errorf("block request: %d of %d missing, err %v; want all refused", len(missing), len(leaves), err)
					}
				})
				for _, req := range []*pb.Message{
					pb.NewMessage(pb.Message_FIND_NODE, []byte(infoB.ID), 0),
					pb.NewMessage(pb.Message_GET_PROVIDERS, provKey.Hash(), 0),
				} {
					wg.Go(func() {
						if resp, err := askDHT(ctx, s.h, infoA.ID, a.n.mesh.discovery.Protocol(), req); err == nil {
							errs <- fmt.Errorf("%v answered: closer peers %v, providers %v", req.Type,
								pb.PBPeersToPeerInfos(resp.CloserPeers), pb.PBPeersToPeerInfos(resp.ProviderPeers))
						}
					})
				}
				wg.Go(func() {
					// The availability protocol: no session, no bitmap.
					av, err := avail.New(s.h, avail.Config{Logger: quietLogger()})
					if err != nil {
						errs <- err
						return
					}
					defer av.Close()
					if err := av.Track(root, 4, nil); err != nil {
						errs <- err
						return
					}
					if err := av.Connect(ctx, root, infoA.ID); err == nil {
						errs <- errors.New("the stranger opened an availability session")
					}
				})
				wg.Go(func() {
					// The labels protocol: nothing about where the daemon sits.
					lb, err := labels.New(s.h, labels.Config{Local: policy.Labels{Region: "eu"}, Logger: quietLogger()})
					if err != nil {
						errs <- err
						return
					}
					defer lb.Close()
					if l, err := lb.Ask(ctx, infoA.ID); err == nil {
						errs <- fmt.Errorf("the stranger learned the daemon's labels %+v", l)
					}
				})
				wg.Go(func() {
					berr := dht.Bootstrap(ctx)
					got, err := dht.FindHolders(ctx, root, "eu", 8)
					t.Logf("stranger's DHT: bootstrap %v; holders %v, %v", berr, got, err)
					if len(got) != 0 {
						errs <- fmt.Errorf("the stranger's DHT found holders %v", got)
					}
					// The stranger claims to hold the dataset.
					t.Logf("stranger's announcement: %v", dht.Provide(ctx, root, "eu"))
				})
				wg.Go(func() {
					// Never listed while its connection is open either.
					deadline := time.Now().Add(2 * time.Second)
					for time.Now().Before(deadline) {
						for _, m := range members {
							if ps, err := m.c.Peers(ctx); err != nil || hasPeer(ps, s.id().String(), "") {
								errs <- fmt.Errorf("peers %+v, %v: the stranger is listed", ps, err)
								return
							}
						}
						time.Sleep(50 * time.Millisecond)
					}
				})
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				if n := delivered.Load(); n != 0 {
					t.Errorf("the stranger got %d blocks", n)
				}
				if tc.keys != nil {
					eventuallyTrue(t, "the daemon refuses the stranger", func() bool { return a.n.mesh.auth.Verdicts().Refused(s.id()) })
				}

				// The stranger learned neither the other member nor a holder.
				if addrs := s.h.Peerstore().Addrs(infoB.ID); len(addrs) != 0 || slices.Contains(dht.RoutingTable(), infoB.ID) {
					t.Errorf("the stranger learned member %s: addresses %v, routing table %v", infoB.ID, addrs, dht.RoutingTable())
				}
				for i, m := range members {
					if slices.Contains(m.n.mesh.discovery.RoutingTable(), s.id()) {
						t.Errorf("the stranger is in member %d's routing table", i)
					}
					ps, err := m.c.Peers(ctx)
					if err != nil || hasPeer(ps, s.id().String(), "") {
						t.Errorf("member %d's peers %+v, %v: the stranger is listed", i, ps, err)
					}
					hs, err := m.n.mesh.discovery.FindHolders(ctx, root, "eu", 8)
					if err != nil || slices.ContainsFunc(hs, func(ai peer.AddrInfo) bool { return ai.ID == s.id() }) {
						t.Errorf("member %d finds holders %v, %v: the stranger's record was accepted", i, hs, err)
					}
				}
			})
		}
	})
	for i, m := range members {
		st, err := m.c.Stats(ctx)
		if err != nil || st.Peers == nil || st.Peers.BytesSent != 0 {
			t.Errorf("member %d's peer stats %+v, %v: want no block bytes sent to anyone", i, st.Peers, err)
		}
	}
}

// askDHT sends one kad-dht request on a fresh stream and reads the answer,
// as any kad-dht client would.
func askDHT(ctx context.Context, h lphost.Host, p peer.ID, pid protocol.ID, req *pb.Message) (*pb.Message, error) {
	s, err := h.NewStream(ctx, p, pid)
	if err != nil {
		return nil, fmt.Errorf("open stream: %w", err)
	}
	defer s.Reset()
	_ = s.SetDeadline(time.Now().Add(15 * time.Second))
	b, err := proto.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := msgio.NewVarintWriter(s).WriteMsg(b); err != nil {
		return nil, fmt.Errorf("send %v: %w", req.Type, err)
	}
	msg, err := msgio.NewVarintReaderSize(s, 1<<20).ReadMsg()
	if err != nil {
		return nil, fmt.Errorf("read answer to %v: %w", req.Type, err)
	}
	var resp pb.Message
	if err := proto.Unmarshal(msg, &resp); err != nil {
		return nil, fmt.Errorf("decode answer to %v: %w", req.Type, err)
	}
	return &resp, nil
}

// eventuallyTrue polls cond for up to ten seconds.
func eventuallyTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
