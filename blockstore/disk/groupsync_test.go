package disk_test

import (
	"context"
	"encoding/base32"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/blockstore/vfs/faultfs"
)

// noSyncFS is a store bug on purpose: file-system syncs that do nothing.
type noSyncFS struct{ vfs.FS }

func (f noSyncFS) OpenSyncer(dir string) (vfs.Syncer, error) {
	sy, err := f.FS.OpenSyncer(dir)
	return idleSyncer{sy}, err
}

type idleSyncer struct{ vfs.Syncer }

func (idleSyncer) Sync() error { return nil }

// groupBatch makes n blocks, alternately of odd small sizes (written
// through the page cache) and of whole 64 KiB units (written with
// O_DIRECT), so that both ways into a group-synced batch are tested.
func groupBatch(t *testing.T, seed uint64, n int) []blocks.Block {
	rng := rand.New(rand.NewPCG(seed, seed))
	var bs []blocks.Block
	for i := range n {
		size := 1000 + rng.IntN(20000)
		if i%2 == 1 {
			size = (1 + rng.IntN(4)) << 16
		}
		bs = append(bs, storetest.RandBlock(t, rng, size))
	}
	return bs
}

// TestGroupSyncIsDurable: a batch acknowledged through group sync survives
// a power cut, and the same store with syncs that do nothing loses it (so
// the batch path relies on its syncfs calls and on nothing else).
func TestGroupSyncIsDurable(t *testing.T) {
	for _, tt := range []struct {
		name    string
		wrap    func(vfs.FS) vfs.FS
		survive bool
	}{
		{"syncfs", func(f vfs.FS) vfs.FS { return f }, true},
		{"syncfs doing nothing", func(f vfs.FS) vfs.FS { return noSyncFS{f} }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			mem := vfs.NewMem()
			s, err := disk.New(disk.Config{Dir: "/store", FS: tt.wrap(mem), GroupSyncMin: 2})
			if err != nil {
				t.Fatal(err)
			}
			bs := groupBatch(t, 1, 6)
			if err := s.PutMany(ctx, bs); err != nil {
				t.Fatal(err)
			}
			s.Close()
			mem.Crash()
			s2, err := disk.New(disk.Config{Dir: "/store", FS: mem})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			for _, b := range bs {
				got, err := s2.Get(ctx, b.Cid())
				switch {
				case tt.survive && err != nil:
					t.Fatalf("acknowledged block %s after crash: %v", b.Cid(), err)
				case tt.survive && string(got.RawData()) != string(b.RawData()):
					t.Fatalf("block %s differs after crash", b.Cid())
				case !tt.survive && !errors.Is(err, blockstore.ErrNotFound):
					t.Fatalf("block without syncs after crash: %v, want not found", err)
				}
			}
		})
	}
}

// TestGroupSyncDataDurableBeforeRename cuts power at every rename of a
// group-synced batch: the temp file being renamed must already hold all its
// bytes durably, or a crash right after a later sync of its directory could
// show a partial block. A store that renamed before syncing fails this.
func TestGroupSyncDataDurableBeforeRename(t *testing.T) {
	ctx := context.Background()
	mem := vfs.NewMem()
	ffs := faultfs.New(mem, nil)
	s := open(t, disk.Config{Dir: "/store", FS: ffs, GroupSyncMin: 2})
	bs := groupBatch(t, 2, 8)
	size := map[string]int{} // block file name -> size
	for _, b := range bs {
		size[blockFileName(b)] = len(b.RawData())
	}
	var renames atomic.Int64
	ffs.SetHook(func(op vfs.Op, path string) error {
		if op != vfs.OpRename || !strings.HasSuffix(path, ".data") {
			return nil
		}
		renames.Add(1)
		name := filepath.Base(path)
		img := mem.CrashClone()
		ents, err := img.ReadDir(filepath.Dir(path))
		if err != nil {
			t.Errorf("rename of %s: shard not durable: %v", name, err)
			return nil
		}
		prefix := "." + strings.TrimSuffix(name, ".data") + "."
		for _, e := range ents {
			if !strings.HasPrefix(e.Name(), prefix) {
				continue
			}
			f, err := img.Open(filepath.Join(filepath.Dir(path), e.Name()))
			if err != nil {
				t.Error(err)
				return nil
			}
			data, _ := io.ReadAll(f)
			f.Close()
			if len(data) != size[name] {
				t.Errorf("renaming %s while its temp file holds %d durable bytes of %d", name, len(data), size[name])
			}
			return nil
		}
		t.Errorf("renaming %s: its temp file is not durable", name)
		return nil
	})
	if err := s.PutMany(ctx, bs); err != nil {
		t.Fatal(err)
	}
	ffs.SetHook(nil)
	if n := renames.Load(); n != int64(len(bs)) {
		t.Fatalf("%d renames seen, want %d", n, len(bs))
	}
}

// blockFileName is the store's file name for b (layout.go): the unpadded
// base32 of its multihash.
func blockFileName(b blocks.Block) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b.Cid().Hash()) + ".data"
}
