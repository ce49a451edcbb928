package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/mesh/auth"
)

func writeKey(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cluster.key")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := auth.GenerateKey(f); err != nil {
		t.Fatal(err)
	}
	return path
}

func meshDaemon(t *testing.T, key, region string, bootstrap ...string) *testDaemon {
	return startDaemon(t, Config{Mesh: MeshConfig{
		ClusterKeys: []string{key},
		Listen:      []string{"/ip4/127.0.0.1/udp/0/quic-v1"},
		Bootstrap:   bootstrap,
		Region:      region,
	}})
}

// TestMeshMembership: daemons with the same cluster key find each other
// through a bootstrap address and list each other as peers over QUIC; a
// daemon with another key bootstrapping from a member never appears in its
// peer list, and a daemon without a key says how to join.
func TestMeshMembership(t *testing.T) {
	ctx := testContext(t, time.Minute)
	key := writeKey(t)
	a := meshDaemon(t, key, "eu")
	idA, err := a.c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(idA.Addrs) == 0 || !strings.Contains(idA.Addrs[0], "/p2p/"+idA.PeerID) || idA.Region != "eu" {
		t.Fatalf("id %+v: want full multiaddrs with /p2p/ and the region", idA)
	}
	b := meshDaemon(t, key, "eu", idA.Addrs[0])
	idB, err := b.c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitPeers(t, a.c, func(ps []api.PeerInfo) bool { return hasPeer(ps, idB.PeerID, "quic-v1") })
	waitPeers(t, b.c, func(ps []api.PeerInfo) bool { return hasPeer(ps, idA.PeerID, "quic-v1") })

	stranger := meshDaemon(t, writeKey(t), "eu", idA.Addrs[0])
	idS, err := stranger.c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		ps, err := a.c.Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if hasPeer(ps, idS.PeerID, "") {
			t.Fatalf("a daemon with another cluster key is listed as a peer: %+v", ps)
		}
		time.Sleep(100 * time.Millisecond)
	}

	plain := startDaemon(t, Config{})
	_, err = plain.c.Peers(ctx)
	if e := asAPIError(t, err); e.Status != 501 || !strings.Contains(e.Message, "--cluster-key") {
		t.Fatalf("peers without a mesh: %v", err)
	}
}

// originMember is a mesh daemon of region "eu" that may read originURL.
func originMember(t *testing.T, key, originURL string, bootstrap ...string) *testDaemon {
	return startDaemon(t, Config{AllowOrigins: []string{originURL}, Mesh: MeshConfig{
		ClusterKeys: []string{key}, Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, Bootstrap: bootstrap, Region: "eu",
	}})
}

func hasPeer(ps []api.PeerInfo, id, transport string) bool {
	for _, p := range ps {
		if p.PeerID == id && (transport == "" || p.Transport == transport) && p.Authenticated {
			return true
		}
	}
	return false
}

func waitPeers(t *testing.T, c *api.Client, ok func([]api.PeerInfo) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps, err := c.Peers(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if ok(ps) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers never matched: %+v", ps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMeshPinFromPeers: three members of one region; the first pins a
// dataset from the origin, the other two pin it with no leaf read from the
// origin (they learn the dataset from its CAR there) and every file reads
// back identical.
func TestMeshPinFromPeers(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	key := writeKey(t)
	dir := t.TempDir()
	files := append([]fixtureFile{{"shard-a.bin", 5*mib + 3}, {"shard-b.bin", 3 * mib}}, standardFiles...)
	writeFixture(t, dir, files)
	originURL := "file://" + dir
	start := func(bootstrap ...string) *testDaemon { return originMember(t, key, originURL, bootstrap...) }
	a := start()
	idA, err := a.c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root := publish(ctx, t, a.c, api.PublishRequest{Origin: originURL})
	if st := mustPin(ctx, t, a.c, root, ""); st.BySource.Local != sizeOf(files) {
		t.Fatalf("the publisher's pin: %+v, want everything local", st.BySource)
	}
	for i, d := range []*testDaemon{start(idA.Addrs[0]), start(idA.Addrs[0])} {
		waitHolders(ctx, t, d, root)
		st := mustPin(ctx, t, d.c, root, originURL)
		if st.BySource.Peer != sizeOf(files) || st.BySource.Origin != 0 {
			t.Fatalf("member %d pinned %+v: want all %d bytes from peers, none from the origin", i+1, st.BySource, sizeOf(files))
		}
		checkAllFiles(ctx, t, d.c, root, dir, files)
		stats, err := d.c.Stats(ctx)
		if err != nil || stats.Peers == nil || stats.Peers.BytesReceived != sizeOf(files) || stats.Peers.BadBlocks != 0 {
			t.Fatalf("member %d peer stats %+v, %v: want %d bytes received, no bad blocks", i+1, stats.Peers, err, sizeOf(files))
		}
		metrics, err := d.c.Metrics(ctx)
		if err != nil || !strings.Contains(string(metrics), "meshcache_peer_received_bytes_total") {
			t.Fatalf("member %d metrics lack peer counters: %v", i+1, err)
		}
		ps, err := d.c.Peers(ctx)
		if err != nil || !hasPeer(ps, idA.PeerID, "quic-v1") {
			t.Fatalf("member %d peers %+v, %v: want the first daemon over QUIC", i+1, ps, err)
		}
	}
}

// waitHolders waits until d's DHT finds a holder of root: announcements are
// one-way DHT messages that land a moment after the pin completes.
func waitHolders(ctx context.Context, t *testing.T, d *testDaemon, root cid.Cid) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		hs, err := d.n.mesh.discovery.FindHolders(ctx, root, "eu", 4)
		if err == nil && len(hs) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no holder of %s found: %v", root, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMeshHolderStopsMidPin: a holder that goes away while it serves a pin
// costs nothing but a retry: the pin completes from the other holder or the
// origin, byte-identical.
func TestMeshHolderStopsMidPin(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	key := writeKey(t)
	dir := t.TempDir()
	files := []fixtureFile{{"big-1.bin", 48 * mib}, {"big-2.bin", 32*mib + 5}}
	writeFixture(t, dir, files)
	originURL := "file://" + dir
	start := func(bootstrap ...string) *testDaemon { return originMember(t, key, originURL, bootstrap...) }
	a := start()
	idA, err := a.c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root := publish(ctx, t, a.c, api.PublishRequest{Origin: originURL})
	mustPin(ctx, t, a.c, root, "")
	b := start(idA.Addrs[0])
	waitHolders(ctx, t, b, root)
	if _, err := b.c.Pin(ctx, root, originURL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := b.c.PinStatus(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		if st.BySource.Peer > 0 {
			break
		}
		if st.Done() || time.Now().After(deadline) {
			t.Fatalf("pin never started reading from the peer: %+v", st)
		}
		time.Sleep(time.Millisecond)
	}
	// Closing the holder's host cuts its connections at once, as a crash
	// or a dead link would; a graceful stop would let it finish serving.
	if err := a.n.mesh.host.Close(); err != nil {
		t.Fatalf("close the holder's host: %v", err)
	}
	st, err := b.c.WaitPin(ctx, root, 20*time.Millisecond, nil)
	if err != nil || st.State != api.PinPinned {
		t.Fatalf("pin after the holder stopped: %+v, %v", st, err)
	}
	if st.BySource.Peer+st.BySource.Origin != sizeOf(files) {
		t.Fatalf("bytes by source %+v do not add up to the dataset's %d", st.BySource, sizeOf(files))
	}
	// With the only holder gone mid-pin, the rest came from the origin;
	// were it all from the peer, the holder stopped too late to test
	// anything.
	if st.BySource.Origin == 0 {
		t.Fatalf("the whole pin came from the peer (%+v): the holder was stopped after it finished", st.BySource)
	}
	t.Logf("bytes by source after the holder stopped: %+v", st.BySource)
	checkAllFiles(ctx, t, b.c, root, dir, files)
}
