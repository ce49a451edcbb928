package disk_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/blockstore/vfs/faultfs"
)

// crashRun writes random blocks (single puts and batches, from several
// goroutines) to a store on a crashable in-memory FS and simulates a power
// cut at the crashAt-th file-system operation. It returns the durable
// image at that instant and the blocks acknowledged before it.
//
// groupMin is Config.GroupSyncMin: with 2, batches of one block take the
// fsync path and larger ones the syncfs path, interleaved.
func crashRun(t *testing.T, seed uint64, crashAt int64, groupMin int) (*vfs.MemFS, []blocks.Block, bool) {
	mem := vfs.NewMem()
	var (
		ackMu   sync.Mutex
		acked   []blocks.Block
		image   *vfs.MemFS
		ackedAt []blocks.Block
		ops     atomic.Int64
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hook := func(op vfs.Op, path string) error {
		if ops.Add(1) != crashAt {
			return nil
		}
		ackMu.Lock()
		image = mem.CrashClone()
		ackedAt = append([]blocks.Block(nil), acked...)
		ackMu.Unlock()
		cancel()
		return nil
	}
	ffs := faultfs.New(mem, nil)
	s, err := disk.New(disk.Config{Dir: "/store", FS: ffs, WriteParallelism: 2, GroupSyncMin: groupMin})
	if err != nil {
		t.Fatal(err)
	}
	ffs.SetHook(hook) // count from the first write on: opening is tested below
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				bs := make([]blocks.Block, 1+rng.IntN(4))
				for i := range bs {
					bs[i] = storetest.RandBlock(t, rng, 1+rng.IntN(8<<10))
				}
				if err := s.PutMany(ctx, bs); err != nil {
					if ctx.Err() == nil {
						t.Errorf("put: %v", err)
					}
					return
				}
				ackMu.Lock()
				acked = append(acked, bs...)
				ackMu.Unlock()
			}
		})
	}
	wg.Wait()
	s.Close()
	return image, ackedAt, image != nil
}

// TestCrash: after a power cut at any point, every acknowledged block is
// present and intact, no partial block is visible, and the store opens;
// with per-file fsyncs only, and with group sync for batches.
func TestCrash(t *testing.T) {
	for _, mode := range []struct {
		name     string
		groupMin int
	}{{"per-file", -1}, {"group", 2}} {
		t.Run(mode.name, func(t *testing.T) { testCrash(t, mode.groupMin) })
	}
}

func testCrash(t *testing.T, groupMin int) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 40 {
		crashAt := int64(10 + rng.IntN(1500))
		image, acked, crashed := crashRun(t, uint64(i), crashAt, groupMin)
		if !crashed {
			t.Fatalf("run %d: never reached operation %d", i, crashAt)
		}
		ctx := context.Background()
		s, err := disk.New(disk.Config{Dir: "/store", FS: image})
		if err != nil {
			t.Fatalf("run %d (crash at op %d): reopen: %v", i, crashAt, err)
		}
		for _, b := range acked {
			got, err := s.Get(ctx, b.Cid())
			if err != nil {
				t.Fatalf("run %d (crash at op %d): acknowledged block %s: %v", i, crashAt, b.Cid(), err)
			}
			if string(got.RawData()) != string(b.RawData()) {
				t.Fatalf("run %d: acknowledged block %s differs", i, b.Cid())
			}
		}
		n := checkAll(t, s)
		st, _ := s.Stat(ctx)
		if st.Corrupt != 0 || n < len(acked) {
			t.Fatalf("run %d: %d blocks readable, %d acknowledged, %d corrupt", i, n, len(acked), st.Corrupt)
		}
		if _, temps := storeFiles(t, image, "/store"); len(temps) != 0 {
			t.Fatalf("run %d: temp files survive reopening: %v", i, temps)
		}
		s.Close()
	}
}

// noDirSync is a store bug on purpose: directory syncs that do nothing.
type noDirSync struct{ vfs.FS }

func (noDirSync) SyncDir(string) error { return nil }

// TestCrashCatchesMissingDirSync shows the crash FS has teeth: a store that
// skipped its directory syncs loses an acknowledged block.
func TestCrashCatchesMissingDirSync(t *testing.T) {
	mem := vfs.NewMem()
	s, err := disk.New(disk.Config{Dir: "/store", FS: noDirSync{mem}})
	if err != nil {
		t.Fatal(err)
	}
	b := storetest.RandBlock(t, rand.New(rand.NewPCG(1, 1)), 100)
	if err := s.Put(context.Background(), b); err != nil {
		t.Fatalf("put: %v", err)
	}
	s.Close()
	mem.Crash()
	s2, err := disk.New(disk.Config{Dir: "/store", FS: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Get(context.Background(), b.Cid()); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("block acknowledged without directory syncs, after crash: %v, want not found", err)
	}
}

// TestPinsCrash cuts power at every file-system operation of a Pin: after
// reopening, the pin list is the old one or the new one, never broken, and
// once Pin has returned it is the new one.
func TestPinsCrash(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(2, 2))
	r1, r2 := storetest.RandBlock(t, rng, 10).Cid(), storetest.RandBlock(t, rng, 10).Cid()
	base := vfs.NewMem()
	s, err := disk.New(disk.Config{Dir: "/store", FS: base})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Pin(ctx, r1, 100); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for k := int64(1); ; k++ {
		mem := base.CrashClone()
		ffs := faultfs.New(mem, nil)
		s, err := disk.New(disk.Config{Dir: "/store", FS: ffs})
		if err != nil {
			t.Fatal(err)
		}
		var image *vfs.MemFS
		var ops atomic.Int64
		ffs.SetHook(func(vfs.Op, string) error {
			if ops.Add(1) == k {
				image = mem.CrashClone()
			}
			return nil
		})
		if err := s.Pin(ctx, r2, 200); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if image == nil { // Pin finished in fewer than k operations
			image = mem.CrashClone()
			k = -1
		}
		s, err = disk.New(disk.Config{Dir: "/store", FS: image})
		if err != nil {
			t.Fatalf("crash at op %d of Pin: reopen: %v", k, err)
		}
		pins, err := s.Pins(ctx)
		s.Close()
		if err != nil || len(pins) < 1 || len(pins) > 2 || (k == -1 && len(pins) != 2) {
			t.Fatalf("crash at op %d of Pin: pins %v, %v", k, pins, err)
		}
		if k == -1 {
			return
		}
	}
}
