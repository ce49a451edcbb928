package avail_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/avail"
	"github.com/meshcache/meshcache/mesh/host"
	mh "github.com/multiformats/go-multihash"
)

func rootOf(t *testing.T, s string) cid.Cid {
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.DagProtobuf, h)
}

type node struct {
	h    *host.Host
	auth *auth.Authenticator
	svc  *avail.Service
}

func (n *node) id() peer.ID { return n.h.ID() }

// newMember starts an authenticated host; with cfg non-nil it also runs
// the availability service behind the authenticator.
func newMember(t *testing.T, keys auth.Keys, cfg *avail.Config) *node {
	t.Helper()
	m := meshtest.NewMember(t, keys, 3*time.Second)
	n := &node{h: m.Host, auth: m.Auth}
	if cfg != nil {
		c := *cfg
		c.Wrap, c.Admit, c.Logger = m.Auth.Wrap, m.Auth.WaitAuthenticated, meshtest.Quiet()
		var err error
		n.svc, err = avail.New(m.Host, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.svc.Close() })
	}
	return n
}

func dial(t *testing.T, ctx context.Context, from, to *node) {
	t.Helper()
	if err := from.h.Connect(ctx, peer.AddrInfo{ID: to.id(), Addrs: to.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	if !from.auth.WaitAuthenticated(ctx, to.id()) {
		t.Fatalf("%s not authenticated", to.id())
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond for a few seconds and returns how long it took.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

func holds(n *node, root cid.Cid, leaf int64, p peer.ID) bool {
	return slices.Contains(n.svc.Holders(root, leaf), p)
}

func TestTwoPeersExchange(t *testing.T) {
	ctx, keys := ctxT(t), meshtest.Keys(t)
	a, b := newMember(t, keys, &avail.Config{}), newMember(t, keys, &avail.Config{})
	root := rootOf(t, "two")
	const n = 3_000_000 // three bitmap chunks
	ha, hb := avail.NewBitmap(n), avail.NewBitmap(n)
	ha.SetRange(0, 1_500_000)
	hb.SetRange(2_000_000, n)
	hb.Set(7)
	for _, x := range []struct {
		n *node
		b *avail.Bitmap
	}{{a, ha}, {b, hb}} {
		if err := x.n.svc.Track(root, n, x.b); err != nil {
			t.Fatal(err)
		}
	}
	dial(t, ctx, b, a)
	if err := b.svc.Connect(ctx, root, a.id()); err != nil {
		t.Fatal(err)
	}
	// Connect returned with a's bitmap at b; b's reaches a just after.
	for _, leaf := range []int64{0, 1_499_999, 1_500_000, 2_000_000, n - 1, 7} {
		if got, want := holds(b, root, leaf, a.id()), ha.Has(leaf); got != want {
			t.Fatalf("b thinks a holds leaf %d: %v, want %v", leaf, got, want)
		}
	}
	eventually(t, "b's bitmap at a", func() bool { return holds(a, root, n-1, b.id()) })
	for _, leaf := range []int64{0, 7, 1_999_999, 2_000_000} {
		if got, want := holds(a, root, leaf, b.id()), hb.Has(leaf); got != want {
			t.Fatalf("a thinks b holds leaf %d: %v, want %v", leaf, got, want)
		}
	}

	// A local put shows up at the peer promptly, and an eviction likewise.
	if err := a.svc.Have(root, 1_800_000); err != nil {
		t.Fatal(err)
	}
	took := eventually(t, "HAVE at b", func() bool { return holds(b, root, 1_800_000, a.id()) })
	t.Logf("HAVE seen after %v", took)
	if err := b.svc.DontHave(root, 7); err != nil {
		t.Fatal(err)
	}
	took = eventually(t, "DONT_HAVE at a", func() bool { return !holds(a, root, 7, b.id()) })
	t.Logf("DONT_HAVE seen after %v", took)
	// A burst: the last word on each leaf wins.
	for i := int64(100); i < 200; i++ {
		_ = b.svc.Have(root, i)
		_ = b.svc.DontHave(root, i)
		_ = b.svc.Have(root, i)
	}
	_ = b.svc.DontHave(root, 150)
	eventually(t, "burst at a", func() bool { return holds(a, root, 199, b.id()) })
	if holds(a, root, 150, b.id()) || !holds(a, root, 149, b.id()) {
		t.Fatal("burst applied out of order")
	}

	if err := a.svc.Have(root, n); err == nil {
		t.Fatal("Have out of range accepted")
	}
	// Unpin: b untracks, a drops b as a holder of everything.
	b.svc.Untrack(root)
	eventually(t, "unpin at a", func() bool { return len(a.svc.Peers(root)) == 0 })
	if len(a.svc.Holders(root, n-1)) != 0 {
		t.Fatal("a still lists b as a holder after unpin")
	}
}

func TestFivePeers(t *testing.T) {
	ctx, keys := ctxT(t), meshtest.Keys(t)
	root := rootOf(t, "five")
	const n = 1_500_000
	nodes := make([]*node, 5)
	for i := range nodes {
		nodes[i] = newMember(t, keys, &avail.Config{})
		have := avail.NewBitmap(n)
		// Node i holds the i-th fifth, and leaf i*7.
		have.SetRange(int64(i)*n/5, int64(i+1)*n/5)
		have.Set(int64(i) * 7)
		if err := nodes[i].svc.Track(root, n, have); err != nil {
			t.Fatal(err)
		}
	}
	for i := range nodes {
		for j := i + 1; j < len(nodes); j++ {
			dial(t, ctx, nodes[i], nodes[j])
			// Both directions at once: simultaneous opens settle on one
			// session per pair.
			errs := make(chan error, 2)
			go func() { errs <- nodes[i].svc.Connect(ctx, root, nodes[j].id()) }()
			go func() { errs <- nodes[j].svc.Connect(ctx, root, nodes[i].id()) }()
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for i, x := range nodes {
		eventually(t, "four peers", func() bool { return len(x.svc.Peers(root)) == 4 })
		for j, y := range nodes {
			if i == j {
				continue
			}
			leaf := int64(j)*n/5 + 3
			eventually(t, "bitmap", func() bool { return holds(x, root, leaf, y.id()) })
			if holds(x, root, int64((j+1)%5)*n/5+3, y.id()) {
				t.Fatalf("node %d thinks %d holds a leaf it does not", i, j)
			}
		}
	}
	// A put at node 0 reaches all four; an eviction at node 3 too.
	const put = n - 1
	if err := nodes[0].svc.Have(root, put); err != nil {
		t.Fatal(err)
	}
	if err := nodes[3].svc.DontHave(root, int64(3)*n/5+3); err != nil {
		t.Fatal(err)
	}
	for i, x := range nodes[1:] {
		eventually(t, "HAVE at every peer", func() bool { return holds(x, root, put, nodes[0].id()) })
		if i+1 != 3 {
			eventually(t, "DONT_HAVE at every peer", func() bool {
				return !holds(x, root, int64(3)*n/5+3, nodes[3].id())
			})
		}
	}
	if got := len(nodes[1].svc.Holders(root, put)); got != 2 { // node 0 and node 4
		t.Fatalf("%d holders of the last leaf, want 2", got)
	}
}

func peerInfo(n *node) peer.AddrInfo { return peer.AddrInfo{ID: n.id(), Addrs: n.h.Addrs()} }

func TestPeerLimit(t *testing.T) {
	ctx, keys := ctxT(t), meshtest.Keys(t)
	hub := newMember(t, keys, &avail.Config{}) // DefaultMaxPeers
	root := rootOf(t, "popular")
	if err := hub.svc.Track(root, 64, nil); err != nil {
		t.Fatal(err)
	}
	spokes := make([]*node, avail.DefaultMaxPeers+2)
	for i := range spokes {
		spokes[i] = newMember(t, keys, &avail.Config{})
		if err := spokes[i].svc.Track(root, 64, nil); err != nil {
			t.Fatal(err)
		}
		dial(t, ctx, spokes[i], hub)
	}
	for _, s := range spokes[:avail.DefaultMaxPeers] {
		if err := s.svc.Connect(ctx, root, hub.id()); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "32 sessions", func() bool { return len(hub.svc.Peers(root)) == avail.DefaultMaxPeers })
	// The 33rd subscriber is refused by the hub, with the reason.
	err := spokes[avail.DefaultMaxPeers].svc.Connect(ctx, root, hub.id())
	if !errors.Is(err, avail.ErrRefused) || !strings.Contains(err.Error(), "peer limit") {
		t.Fatalf("33rd subscription: %v", err)
	}
	// The hub itself subscribes to no 33rd peer.
	if err := hub.svc.Connect(ctx, root, spokes[avail.DefaultMaxPeers+1].id()); !errors.Is(err, avail.ErrPeerLimit) {
		t.Fatalf("hub's 33rd subscription: %v", err)
	}
	if got := len(hub.svc.Peers(root)); got != avail.DefaultMaxPeers {
		t.Fatalf("%d sessions, limit %d", got, avail.DefaultMaxPeers)
	}
	// A slot frees when a peer unpins, and the refused peer gets in.
	spokes[0].svc.Untrack(root)
	eventually(t, "slot freed", func() bool { return len(hub.svc.Peers(root)) < avail.DefaultMaxPeers })
	if err := spokes[avail.DefaultMaxPeers].svc.Connect(ctx, root, hub.id()); err != nil {
		t.Fatal(err)
	}
}

func TestCloseEndsSessions(t *testing.T) {
	ctx, keys := ctxT(t), meshtest.Keys(t)
	a, b := newMember(t, keys, &avail.Config{}), newMember(t, keys, &avail.Config{})
	root := rootOf(t, "close")
	full := avail.NewBitmap(100)
	full.SetRange(0, 100)
	for _, x := range []*node{a, b} {
		if err := x.svc.Track(root, 100, full); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.svc.Track(root, 100, nil); err == nil {
		t.Fatal("tracked twice")
	}
	dial(t, ctx, a, b)
	if err := a.svc.Connect(ctx, root, b.id()); err != nil {
		t.Fatal(err)
	}
	if err := a.svc.Connect(ctx, root, b.id()); err != nil {
		t.Fatalf("second Connect: %v", err)
	}
	if err := a.svc.Connect(ctx, rootOf(t, "unknown"), b.id()); !errors.Is(err, avail.ErrNotTracked) {
		t.Fatalf("Connect for an untracked dataset: %v", err)
	}
	start := time.Now()
	if err := a.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	eventually(t, "b drops a", func() bool { return len(b.svc.Holders(root, 5)) == 0 })
	if err := a.svc.Track(rootOf(t, "later"), 1, nil); !errors.Is(err, avail.ErrClosed) {
		t.Fatalf("Track after Close: %v", err)
	}
}
