package node

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/mesh/discovery"
	"github.com/meshcache/meshcache/mesh/exchange"
)

// garbageSize is the size of every wrong block the corrupt member sends, so
// that the bytes it cost can be told apart from honest ones.
const garbageSize = 4096

// garbage answers every block request with bytes that are not the block,
// labelled with the CID asked for, as a peer with a rotten disk or a
// malicious one would.
func garbage(_ context.Context, c cid.Cid) (blocks.Block, error) {
	data := bytes.Repeat([]byte("not the block "), garbageSize/14+1)[:garbageSize]
	copy(data, c.String())
	return blocks.NewBlockWithCid(data, c)
}

// TestMeshCorruptPeer: a member that authenticates, announces the dataset
// and answers every block request with wrong bytes costs the pin nothing
// but retries: the pin completes byte-identical from the honest holder,
// each wrong block is rejected and counted (in /v1/stats and /metrics), and
// none of the wrong bytes is kept or served.
//
// The corrupt member is made the nearest holder (lowest measured RTT), the
// worst case: it is asked first.
func TestMeshCorruptPeer(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	key := writeKey(t)
	// Twenty files of two blocks, fetched a MiB at a time: about twenty
	// batches, so asking the corrupt member once per batch would show.
	// The second blocks (64 random bytes) differ, so no CID is wanted
	// twice and every byte sent is one the pin counts.
	var files []fixtureFile
	for i := range 20 {
		files = append(files, fixtureFile{fmt.Sprintf("part-%02d.bin", i), mib + 64})
	}
	dir, root := publishFiles(t, files)
	originURL := "file://" + dir

	honest := originMember(t, key, originURL)
	idH, infoH := daemonInfo(ctx, t, honest)
	mustPin(ctx, t, honest.c, root, originURL)

	bad := newRogue(t, key)
	bad.serveBlocks(exchange.GetterFunc(garbage))
	if err := bad.startDHT(discovery.Config{Bootstrap: idH.Addrs[:1]}).Bootstrap(ctx); err != nil {
		t.Fatalf("corrupt member joins the DHT: %v", err)
	}
	if err := bad.dht.Provide(ctx, root, "eu"); err != nil {
		t.Fatalf("corrupt member announces the dataset: %v", err)
	}

	d := startDaemon(t, Config{AllowOrigins: []string{originURL}, FetchBatch: 1, Mesh: MeshConfig{
		ClusterKeys: []string{key}, Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, Bootstrap: idH.Addrs[:1], Region: "eu",
	}})
	waitHolderSet(ctx, t, d, root, infoH.ID, bad.id())
	// Loopback RTTs are alike and their order is chance; make the corrupt
	// member the nearest so that it is asked first.
	ps := d.n.mesh.host.Peerstore()
	for range 200 {
		ps.RecordLatency(bad.id(), time.Microsecond)
		ps.RecordLatency(infoH.ID, time.Second)
	}

	st := mustPin(ctx, t, d.c, root, originURL)
	if st.State != api.PinPinned {
		t.Fatalf("pin: %+v", st)
	}
	checkAllFiles(ctx, t, d.c, root, dir, files)
	asked := bad.requests.Load()
	if asked == 0 {
		t.Fatal("the corrupt member was never asked: the test tested nothing")
	}
	// Penalised: after its first wrong block the corrupt member is asked
	// no more than the batches already in flight then (the pin runs 4 at
	// once), not once per batch.
	if asked > 4 {
		t.Errorf("the corrupt member was asked %d times for %d batches: it is not penalised after its first wrong block", asked, len(files))
	}

	stats, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := stats.Peers
	t.Logf("corrupt member asked %d times; pin by source %+v; peer stats %+v", asked, st.BySource, p)
	if p == nil || p.BadBlocks == 0 || p.BadBlocks > asked {
		t.Fatalf("peer stats %+v: want between 1 and %d bad blocks (one per request to the corrupt member at most)", p, asked)
	}
	// Every byte received beyond those kept was a rejected block.
	if got, want := p.BytesReceived-st.BySource.Peer, p.BadBlocks*garbageSize; got != want {
		t.Errorf("received %d bytes from peers, kept %d: %d rejected, want %d bad blocks of %d", p.BytesReceived, st.BySource.Peer, got, p.BadBlocks, garbageSize)
	}
	metrics, err := d.c.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := metricValue(metrics, "meshcache_peer_bad_blocks_total"); !ok || v != strconv.FormatInt(p.BadBlocks, 10) {
		t.Errorf("/metrics meshcache_peer_bad_blocks_total = %q (present %v), want %d as in /v1/stats", v, ok, p.BadBlocks)
	}

	// The blocks came from elsewhere: the honest holder served them.
	// (Local counts the blocks the dataset holds twice: one-byte tails
	// repeat.)
	if st.BySource.Local+st.BySource.Peer+st.BySource.Origin != sizeOf(files) || st.BySource.Peer == 0 {
		t.Fatalf("pin by source %+v: want %d bytes, from the honest holder", st.BySource, sizeOf(files))
	}
	hs, err := honest.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hs.Peers == nil || hs.Peers.BytesSent != st.BySource.Peer {
		t.Errorf("honest holder's peer stats %+v: want %d bytes sent, what the pin got from peers", hs.Peers, st.BySource.Peer)
	}
}

// waitHolderSet waits until d's DHT finds every one of want as a holder of
// root in region "eu".
func waitHolderSet(ctx context.Context, t *testing.T, d *testDaemon, root cid.Cid, want ...peer.ID) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		infos, err := d.n.mesh.discovery.FindHolders(ctx, root, "eu", 8)
		var got []peer.ID
		for _, ai := range infos {
			got = append(got, ai.ID)
		}
		if err == nil && !slices.ContainsFunc(want, func(p peer.ID) bool { return !slices.Contains(got, p) }) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("holders of %s: %v, %v; want %v", root, got, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
