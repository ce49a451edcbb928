package disk_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
)

// TestOnCorruptHook: the owner hears of each block the store drops as
// corrupt, once, after the block is gone (so it may fetch it again).
func TestOnCorruptHook(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	b := storetest.RandBlock(t, rand.New(rand.NewPCG(3, 4)), 64<<10)
	s := open(t, disk.Config{Dir: dir})
	if err := s.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	s.Close()
	flipByte(t, dir)

	type heard struct {
		c    cid.Cid
		held bool
	}
	got := make(chan heard, 4)
	var s2 *disk.Store
	s2 = open(t, disk.Config{Dir: dir, OnCorrupt: func(c cid.Cid) {
		held, _ := s2.Has(ctx, c)
		got <- heard{c, held}
	}})
	for range 2 {
		if _, err := s2.Get(ctx, b.Cid()); err == nil {
			t.Fatal("a corrupt block was served")
		}
	}
	close(got)
	var all []heard
	for h := range got {
		all = append(all, h)
	}
	if len(all) != 1 || !all[0].c.Equals(b.Cid()) || all[0].held {
		t.Fatalf("OnCorrupt heard %+v, want %s once, after it was dropped", all, b.Cid())
	}
}

// TestScrubPassLongerThanInterval: a scrub pass that takes longer than the
// interval is followed by the next pass at once, not by no pass ever again.
func TestScrubPassLongerThanInterval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	b := storetest.RandBlock(t, rand.New(rand.NewPCG(5, 6)), 1<<20)
	// Every pass (hashing 1 MiB) outlasts an interval of a microsecond.
	s := open(t, disk.Config{Dir: dir, ScrubInterval: time.Microsecond, ScrubRate: 1 << 30})
	if err := s.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(50 * time.Millisecond) // several passes
	flipByte(t, dir)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := s.Stat(ctx)
		if st.Corrupt == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scrub stopped: a block corrupted after its first passes was not found (%+v)", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := s.Get(ctx, b.Cid()); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("Get after the scrub dropped the block: %v, want not found", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
