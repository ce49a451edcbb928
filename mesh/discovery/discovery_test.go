package discovery_test

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// TestCluster runs six members in one DHT: lookups by (dataset, region),
// then expiry with and without re-provide.
func TestCluster(t *testing.T) {
	t.Parallel()
	nodes := newCluster(t, 6)
	members := map[peer.ID]bool{}
	for _, n := range nodes {
		members[n.id()] = true
	}
	for i, n := range nodes {
		rt := n.d.RoutingTable()
		if len(rt) == 0 {
			t.Fatalf("node %d: empty routing table", i)
		}
		for _, p := range rt {
			if !members[p] {
				t.Fatalf("node %d: non-member %s in routing table", i, p)
			}
		}
	}
	ctx := ctxT(t)
	root := testRoot("dataset-1")

	t.Run("find in region", func(t *testing.T) {
		if err := nodes[2].d.Provide(ctx, root, "A"); err != nil {
			t.Fatal(err)
		}
		if err := nodes[3].d.Provide(ctx, root, "B"); err != nil {
			t.Fatal(err)
		}
		waitHolders(t, nodes[5], root, "A", nodes[2].id())
		waitHolders(t, nodes[1], root, "B", nodes[3].id())
		noHolders(t, nodes[1], root, "C", "region nobody provides")
		noHolders(t, nodes[2], root, "A", "the provider itself")

		// Own region first; another region only to fill the limit.
		got, err := nodes[0].d.FindAcross(ctx, root, []string{"B", "A"}, 1)
		if err != nil || len(got) != 1 || got[0].ID != nodes[3].id() || got[0].Region != "B" {
			t.Fatalf("FindAcross(B, A; 1) = %v, %v; want only the region-B holder", got, err)
		}
		got, err = nodes[0].d.FindAcross(ctx, root, []string{"C", "A"}, 5)
		if err != nil || len(got) != 1 || got[0].ID != nodes[2].id() || got[0].Region != "A" {
			t.Fatalf("FindAcross(C, A; 5) = %v, %v; want the region-A holder", got, err)
		}
	})

	t.Run("wants apart from holders", func(t *testing.T) {
		ds := testRoot("wanted")
		for _, n := range nodes[:3] {
			if err := n.d.Want(ctx, ds, "A"); err != nil {
				t.Fatal(err)
			}
		}
		if err := nodes[4].d.Provide(ctx, ds, "A"); err != nil {
			t.Fatal(err)
		}
		waitFound(t, "wanters", nodes[5].d.FindWanters, ds, "A", nodes[0].id(), nodes[1].id(), nodes[2].id())
		waitFound(t, "wanters, itself excluded", nodes[0].d.FindWanters, ds, "A", nodes[1].id(), nodes[2].id())
		waitFound(t, "holders", nodes[5].d.FindHolders, ds, "A", nodes[4].id())
		waitFound(t, "wanters in another region", nodes[5].d.FindWanters, ds, "B")
		provided := nodes[0].d.Provided()
		if len(provided) != 1 || !provided[0].Want || provided[0].Root != ds {
			t.Fatalf("Provided() = %+v, want the one want", provided)
		}
		nodes[0].d.Unwant(ds, "A")
		if got := nodes[0].d.Provided(); len(got) != 0 {
			t.Fatalf("after Unwant, Provided() = %+v", got)
		}
	})

	t.Run("expiry and re-provide", func(t *testing.T) {
		once, kept := testRoot("provided-once"), testRoot("re-provided")
		if err := nodes[1].d.Provide(ctx, once, "A"); err != nil {
			t.Fatal(err)
		}
		if err := nodes[4].d.Provide(ctx, kept, "A"); err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- nodes[4].d.Run(runCtx) }()
		defer func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}()
		waitHolders(t, nodes[0], once, "A", nodes[1].id())
		waitHolders(t, nodes[0], kept, "A", nodes[4].id())
		time.Sleep(testTTL + testTTL/2)
		noHolders(t, nodes[0], once, "A", "not re-provided, after its TTL")
		waitHolders(t, nodes[0], kept, "A", nodes[4].id())
		// After Unprovide the record lapses too.
		nodes[4].d.Unprovide(kept, "A")
		time.Sleep(testTTL + testTTL/2)
		noHolders(t, nodes[0], kept, "A", "unprovided, after its TTL")
	})
}
