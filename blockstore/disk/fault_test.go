package disk_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/blockstore/vfs/faultfs"
)

// TestFaults fails one step of a block write and checks that the Put
// fails, nothing of the block is visible (on disk or after reopening), and
// the store keeps working. Each case runs with per-file fsyncs and, for
// batches, with group sync (syncfs), where the fsync and directory-sync
// steps become the two file-system syncs.
func TestFaults(t *testing.T) {
	isTemp := func(p string) bool { return strings.HasSuffix(p, ".tmp") }
	isBlock := func(p string) bool { return strings.HasSuffix(p, ".data") }
	inShard := func(p string) bool { return strings.Contains(p, "/blocks/") }
	perFile := []struct {
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
	// A group-synced batch has no fsync or directory sync; its other steps
	// fail as before, and its two file-system syncs can fail too.
	group := slices.DeleteFunc(slices.Clone(perFile), func(tt struct {
		name    string
		hook    faultfs.Hook
		wantErr error
	}) bool {
		return strings.HasPrefix(tt.name, "fsync") || tt.name == "dir sync"
	})
	group = append(group, []struct {
		name    string
		hook    faultfs.Hook
		wantErr error
	}{
		{"syncfs of written blocks", nthOp(vfs.OpSyncFS, 1, syscall.EIO), syscall.EIO},
		{"syncfs of written blocks ENOSPC", nthOp(vfs.OpSyncFS, 1, syscall.ENOSPC), blockstore.ErrNoSpace},
		{"syncfs of renames", nthOp(vfs.OpSyncFS, 2, syscall.EIO), syscall.EIO},
	}...)
	type run struct {
		mode     string
		groupMin int
		batches  []int
	}
	for _, r := range []run{{"per-file", -1, []int{1, 5}}, {"group", 2, []int{5}}} {
		tests := perFile
		if r.mode == "group" {
			tests = group
		}
		for _, tt := range tests {
			for _, batch := range r.batches {
				t.Run(fmt.Sprintf("%s/%s/batch-%d", r.mode, tt.name, batch), func(t *testing.T) {
					testFault(t, r.groupMin, batch, tt.hook, tt.wantErr, tt.name)
				})
			}
		}
	}
}

// nthOp fails the nth op (counting from 1) with err.
func nthOp(op vfs.Op, n int64, err error) faultfs.Hook {
	var seen atomic.Int64
	return func(o vfs.Op, _ string) error {
		if o == op && seen.Add(1) == n {
			return err
		}
		return nil
	}
}

func testFault(t *testing.T, groupMin, batch int, hook faultfs.Hook, wantErr error, name string) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := faultfs.New(vfs.OS{}, nil)
	s := open(t, disk.Config{Dir: dir, FS: ffs, GroupSyncMin: groupMin})
	rng := rand.New(rand.NewPCG(1, uint64(batch)))
	before := storetest.RandBlock(t, rng, 3000)
	if err := s.Put(ctx, before); err != nil {
		t.Fatal(err)
	}
	var bs []blocks.Block
	for range batch {
		bs = append(bs, storetest.RandBlock(t, rng, 1000+rng.IntN(9000)))
	}
	ffs.SetHook(hook)
	err := s.PutMany(ctx, bs)
	ffs.SetHook(nil)
	if !errors.Is(err, wantErr) {
		t.Fatalf("put with failing %s: %v, want %v", name, err, wantErr)
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
		bs = append(bs, storetest.RandBlock(t, rng, 2000))
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
