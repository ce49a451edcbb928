package discovery_test

import (
	"context"
	"crypto/sha256"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/discovery"
	"github.com/meshcache/meshcache/mesh/host"
	mh "github.com/multiformats/go-multihash"
)

const (
	// authTimeout is short so a silent stranger is dropped quickly.
	authTimeout = 1500 * time.Millisecond
	// Short record validity so expiry is observable within the test.
	testTTL       = 2 * time.Second
	testReprovide = 400 * time.Millisecond
)

// node is a member: host, authenticator and DHT.
type node struct {
	h    *host.Host
	auth *auth.Authenticator
	d    *discovery.Discovery
}

func (n *node) id() peer.ID { return n.h.ID() }

// addr is the node's first full multiaddr, for others' Bootstrap.
func (n *node) addr() string { return host.ID(n.h).Addrs[0] }

// newHost starts a host on loopback QUIC with an authenticator holding
// keys (a bare host when keys is nil).
func newHost(t *testing.T, keys auth.Keys) (*host.Host, *auth.Authenticator) {
	t.Helper()
	if keys == nil {
		return meshtest.NewHost(t, t.TempDir(), nil, meshtest.QUICAddr), nil
	}
	m := meshtest.NewMember(t, keys, authTimeout)
	return m.Host, m.Auth
}

func newNode(t *testing.T, keys auth.Keys, bootstrap ...string) *node {
	t.Helper()
	h, a := newHost(t, keys)
	d, err := discovery.New(h, discovery.Config{
		Membership:        a,
		Bootstrap:         bootstrap,
		RecordTTL:         testTTL,
		ReprovideInterval: testReprovide,
		LookupTimeout:     5 * time.Second,
		Logger:            meshtest.Quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &node{h: h, auth: a, d: d}
}

// newCluster starts n members; all but the first bootstrap from the first.
func newCluster(t *testing.T, n int) []*node {
	t.Helper()
	keys := meshtest.Keys(t)
	nodes := []*node{newNode(t, keys)}
	for i := 1; i < n; i++ {
		nodes = append(nodes, newNode(t, keys, nodes[0].addr()))
	}
	ctx := ctxT(t)
	errs := make(chan error, n)
	for _, nd := range nodes[1:] {
		go func() { errs <- nd.d.Bootstrap(ctx) }()
	}
	for range nodes[1:] {
		if err := <-errs; err != nil {
			t.Fatalf("bootstrap: %v", err)
		}
	}
	return nodes
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testRoot makes a distinct dataset root CID.
func testRoot(name string) cid.Cid {
	sum := sha256.Sum256([]byte(name))
	digest, _ := mh.Encode(sum[:], mh.SHA2_256)
	return cid.NewCidV1(cid.DagProtobuf, digest)
}

func ids(infos []peer.AddrInfo) []peer.ID {
	out := make([]peer.ID, 0, len(infos))
	for _, ai := range infos {
		out = append(out, ai.ID)
	}
	slices.Sort(out)
	return out
}

// waitHolders polls n's FindHolders until it returns exactly want:
// ADD_PROVIDER is a one-way message, so Provide returns before the members
// storing the record have processed it.
func waitHolders(t *testing.T, n *node, root cid.Cid, region string, want ...peer.ID) {
	t.Helper()
	for _, ai := range waitFound(t, "holders", n.d.FindHolders, root, region, want...) {
		if len(ai.Addrs) == 0 {
			t.Fatalf("holder %s returned without addresses", ai.ID)
		}
	}
}

// waitFound waits until find(root, region) returns exactly want.
func waitFound(t *testing.T, what string, find func(context.Context, cid.Cid, string, int) ([]peer.AddrInfo, error), root cid.Cid, region string, want ...peer.ID) []peer.AddrInfo {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(5 * time.Second)
	for {
		infos, err := find(context.Background(), root, region, 10)
		got := ids(infos)
		if err == nil && slices.Equal(got, want) {
			return infos
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s of %s in %q: %v, %v; want %v", what, root, region, got, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// noHolders asserts that n finds no holder of root in region.
func noHolders(t *testing.T, n *node, root cid.Cid, region, why string) {
	t.Helper()
	got, err := n.d.FindHolders(context.Background(), root, region, 10)
	if err != nil || len(got) != 0 {
		t.Fatalf("%s: holders of %s in %q: %v, %v; want none", why, root, region, ids(got), err)
	}
}
