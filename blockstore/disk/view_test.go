package disk_test

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
)

// TestViewReusesNoBytesAcrossCalls: View lends each call its own block's
// bytes from reused buffers; concurrent views of blocks of several sizes
// (smaller, equal and larger than the last buffer) each see exactly their
// block.
func TestViewReusesNoBytesAcrossCalls(t *testing.T) {
	ctx := context.Background()
	s := open(t, disk.Config{Dir: t.TempDir(), ScrubInterval: -1, VerifyReads: disk.VerifyAlways})
	rng := rand.New(rand.NewPCG(3, 4))
	var blks []blocks.Block
	for _, size := range []int{1 << 20, 1000, 1<<20 + 1, 0, 256 << 10, 2 << 20} {
		b := storetest.RandBlock(t, rng, size)
		if err := s.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
		blks = append(blks, b)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				b := blks[(i+w)%len(blks)]
				err := s.View(ctx, b.Cid(), func(data []byte) error {
					if !bytes.Equal(data, b.RawData()) {
						t.Errorf("view of %s (%d bytes) saw %d other bytes", b.Cid(), len(b.RawData()), len(data))
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// TestVerifyAhead: Verify hashes a block not verified since start, so that
// its first read does not (no verified read counted); it leaves verified
// blocks alone; a corrupt block is quarantined once, reported to OnCorrupt
// once, and its read then finds it gone.
func TestVerifyAhead(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name    string
		corrupt bool
	}{{"intact", false}, {"corrupt", true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, disk.Config{Dir: dir, ScrubInterval: -1})
			b := storetest.RandBlock(t, rng, 300<<10)
			if err := s.Put(ctx, b); err != nil {
				t.Fatal(err)
			}
			if s.Unverified(b.Cid()) {
				t.Fatal("a block verified at Put reads as unverified")
			}
			s.Close()
			if tc.corrupt {
				flipByte(t, dir)
			}
			var reported atomic.Int64
			s = open(t, disk.Config{Dir: dir, ScrubInterval: -1, OnCorrupt: func(cid.Cid) { reported.Add(1) }})
			if !s.Unverified(b.Cid()) {
				t.Fatal("after a restart the block should await its first hash")
			}
			err := s.Verify(ctx, b.Cid())
			if tc.corrupt {
				if !errors.Is(err, blockstore.ErrCorrupt) || reported.Load() != 1 {
					t.Fatalf("Verify of a corrupt block: %v, reported %d times; want ErrCorrupt, once", err, reported.Load())
				}
				if err := s.Verify(ctx, b.Cid()); err != nil || reported.Load() != 1 {
					t.Fatalf("second Verify: %v, reported %d times", err, reported.Load())
				}
				if _, _, err := s.OpenFile(ctx, b.Cid()); !errors.Is(err, blockstore.ErrNotFound) {
					t.Fatalf("read after quarantine: %v, want not found", err)
				}
				return
			}
			if err != nil || s.Unverified(b.Cid()) {
				t.Fatalf("Verify: %v, unverified %v", err, s.Unverified(b.Cid()))
			}
			f, _, err := s.OpenFile(ctx, b.Cid())
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			if st, _ := s.Stat(ctx); st.VerifiedReads != 0 {
				t.Fatalf("the read after Verify hashed again (%d verified reads)", st.VerifiedReads)
			}
		})
	}
}

// TestFirstReadWaitsForHashInProgress: a read of a block another caller is
// hashing waits for that hash instead of hashing it again, and hashes it
// itself only when that hash did not complete.
func TestFirstReadWaitsForHashInProgress(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name      string
		completed bool
		wantReads int64 // verified reads counted for the reader
	}{{"other hash completes", true, 0}, {"other hash gives up", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, disk.Config{Dir: dir, ScrubInterval: -1})
			b := storetest.RandBlock(t, rng, 200<<10)
			if err := s.Put(ctx, b); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = open(t, disk.Config{Dir: dir, ScrubInterval: -1})
			release := s.HoldHash(b.Cid())
			done := make(chan error, 1)
			go func() {
				f, _, err := s.OpenFile(ctx, b.Cid())
				if err == nil {
					f.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				t.Fatalf("the read returned (%v) while the block was being hashed elsewhere", err)
			case <-time.After(200 * time.Millisecond):
			}
			release(tc.completed)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if st, _ := s.Stat(ctx); st.VerifiedReads != tc.wantReads || s.Unverified(b.Cid()) {
				t.Fatalf("verified reads %d (want %d), unverified %v", st.VerifiedReads, tc.wantReads, s.Unverified(b.Cid()))
			}
		})
	}
}
