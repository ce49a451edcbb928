package disk_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"syscall"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/blockstore/vfs/faultfs"
)

// TestFaults fails one step of a block write and checks that the Put
// fails, nothing of the block is visible (on disk or after reopening), and
// the store keeps working.
func TestFaults(t *testing.T) {
	isTemp := func(p string) bool { return strings.HasSuffix(p, ".tmp") }
	isBlock := func(p string) bool { return strings.HasSuffix(p, ".data") }
	inShard := func(p string) bool { return strings.Contains(p, "/blocks/") }
	tests := []struct {
		name    string
		hook    faultfs.Hook
		wantErr error
	}{
		{"create temp", faultfs.Fail(vfs.OpCreate, isTemp, faultfs.ErrInjected), faultfs.ErrInjected},
		{"write", faultfs.Fail(vfs.OpWrite, isTemp, syscall.EIO), syscall.EIO},
		{"write ENOSPC", faultfs.Fail(vfs.OpWrite, isTemp, syscall.ENOSPC), blockstore.ErrNoSpace},
		{"fsync", faultfs.Fail(vfs.OpSync, isTemp, syscall.EIO), syscall.EIO},
		{"fsync ENOSPC", faultfs.Fail(vfs.OpSync, isTemp, syscall.ENOSPC), blockstore.ErrNoSpace},
		{"close", faultfs.Fail(vfs.OpClose, isTemp, syscall.EIO), syscall.EIO},
		{"rename", faultfs.Fail(vfs.OpRename, isBlock, faultfs.ErrInjected), faultfs.ErrInjected},
		{"dir sync", faultfs.Fail(vfs.OpSyncDir, inShard, syscall.EIO), syscall.EIO},
		{"shard mkdir", faultfs.Fail(vfs.OpMkdir, inShard, syscall.ENOSPC), blockstore.ErrNoSpace},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 5} {
			t.Run(fmt.Sprintf("%s/batch-%d", tt.name, batch), func(t *testing.T) {
				ctx := context.Background()
				dir := t.TempDir()
				ffs := faultfs.New(vfs.OS{}, nil)
				s := open(t, disk.Config{Dir: dir, FS: ffs})
				rng := rand.New(rand.NewPCG(1, uint64(batch)))
				before := randBlock(t, rng, 3000)
				if err := s.Put(ctx, before); err != nil {
					t.Fatal(err)
				}
				var bs []blocks.Block
				for range batch {
					bs = append(bs, randBlock(t, rng, 1000+rng.IntN(9000)))
				}
				ffs.SetHook(tt.hook)
				err := s.PutMany(ctx, bs)
				ffs.SetHook(nil)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("put with failing %s: %v, want %v", tt.name, err, tt.wantErr)
				}
				files, temps := storeFiles(t, vfs.OS{}, dir)
				if len(temps) != 0 || len(files) != 1 {
					t.Fatalf("after failed put: %d block files, temps %v; want only the earlier block", len(files), temps)
				}
				if st, _ := s.Stat(ctx); st.Blocks != 1 || st.Bytes != 3000 {
					t.Fatalf("stats after failed put: %+v", st)
				}
				if err := s.PutMany(ctx, bs); err != nil {
					t.Fatalf("put after the fault cleared: %v", err)
				}
				s.Close()
				s = open(t, disk.Config{Dir: dir})
				if n := checkAll(t, s); n != batch+1 {
					t.Fatalf("after reopen %d blocks, want %d", n, batch+1)
				}
			})
		}
	}
}

// TestRenameFailsMidBatch: blocks renamed before the failure are durable and
// indexed; the rest leave nothing behind.
func TestRenameFailsMidBatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := faultfs.New(vfs.OS{}, nil)
	s := open(t, disk.Config{Dir: dir, FS: ffs})
	rng := rand.New(rand.NewPCG(3, 3))
	var bs []blocks.Block
	for range 8 {
		bs = append(bs, randBlock(t, rng, 2000))
	}
	renames := 0
	ffs.SetHook(func(op vfs.Op, path string) error {
		if op == vfs.OpRename {
			if renames++; renames == 4 {
				return faultfs.ErrInjected
			}
		}
		return nil
	})
	if err := s.PutMany(ctx, bs); !errors.Is(err, faultfs.ErrInjected) {
		t.Fatalf("putmany: %v, want injected rename failure", err)
	}
	ffs.SetHook(nil)
	files, temps := storeFiles(t, vfs.OS{}, dir)
	st, _ := s.Stat(ctx)
	if len(temps) != 0 || len(files) != 3 || st.Blocks != 3 {
		t.Fatalf("after failed rename: %d files, %d indexed, temps %v; want 3, 3, none", len(files), st.Blocks, temps)
	}
	if n := checkAll(t, s); n != 3 {
		t.Fatalf("%d readable blocks, want 3", n)
	}
}
