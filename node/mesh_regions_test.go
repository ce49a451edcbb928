package node

import (
	"context"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
)

// TestMeshTwoRegions: holders in two regions ("eu" and "us"). A new member
// of eu takes every block from eu, none from us, none across regions; a
// member of a third region, allowed to fetch across regions, takes every
// block from the others before the origin and counts them as cross-region
// bytes. Peers list each other's regions.
func TestMeshTwoRegions(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	key := writeKey(t)
	dir := t.TempDir()
	files := []fixtureFile{{"a.bin", 3*mib + 11}, {"b.bin", 2 * mib}}
	writeFixture(t, dir, files)
	originURL := "file://" + dir
	member := func(region string, cross bool, bootstrap ...string) *testDaemon {
		return startDaemon(t, Config{AllowOrigins: []string{originURL}, Mesh: MeshConfig{
			ClusterKeys: []string{key}, Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, Bootstrap: bootstrap,
			Region: region, CrossRegion: cross,
		}})
	}
	eu1 := member("eu", false)
	idEU1, err := eu1.c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	boot := idEU1.Addrs[0]
	root := publish(ctx, t, eu1.c, api.PublishRequest{Origin: originURL})
	mustPin(ctx, t, eu1.c, root, "")
	us1 := member("us", false, boot)
	if st := mustPin(ctx, t, us1.c, root, originURL); st.BySource.Origin != sizeOf(files) {
		t.Fatalf("the first member of us: %+v, want everything from the origin", st.BySource)
	}
	waitRegionHolders(ctx, t, eu1, root, "us")

	eu2 := member("eu", true, boot)
	waitHolders(ctx, t, eu2, root)
	st := mustPin(ctx, t, eu2.c, root, originURL)
	if st.BySource.Peer != sizeOf(files) || st.CrossRegionBytes != 0 || st.BySource.Origin != 0 {
		t.Fatalf("eu member with an eu holder: %+v, cross-region %d; want every block from its region", st.BySource, st.CrossRegionBytes)
	}
	if s, err := us1.c.Stats(ctx); err != nil || s.Peers.BytesSent != 0 {
		t.Fatalf("the us holder served %+v, %v; want nothing", s.Peers, err)
	}

	ap1 := member("ap", true, boot)
	waitPeers(t, ap1.c, func(ps []api.PeerInfo) bool {
		regions := map[string]bool{}
		for _, p := range ps {
			regions[p.Region] = true
		}
		return regions["eu"] && regions["us"]
	})
	st = mustPin(ctx, t, ap1.c, root, originURL)
	if st.BySource.Peer != sizeOf(files) || st.CrossRegionBytes != sizeOf(files) || st.BySource.Origin != 0 {
		t.Fatalf("ap member with no holder in ap: %+v, cross-region %d; want every block across regions", st.BySource, st.CrossRegionBytes)
	}
	stats, err := ap1.c.Stats(ctx)
	if err != nil || stats.CrossRegionBytes != sizeOf(files) {
		t.Fatalf("ap stats cross-region %d, %v", stats.CrossRegionBytes, err)
	}
	checkAllFiles(ctx, t, ap1.c, root, dir, files)
}

// waitRegionHolders waits until d finds a holder of root in region.
func waitRegionHolders(ctx context.Context, t *testing.T, d *testDaemon, root cid.Cid, region string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		hs, err := d.n.mesh.discovery.FindHolders(ctx, root, region, 4)
		if err == nil && len(hs) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no holder of %s in %s: %v", root, region, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
