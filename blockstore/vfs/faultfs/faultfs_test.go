package faultfs_test

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/blockstore/vfs/faultfs"
)

func TestHooks(t *testing.T) {
	isTmp := func(p string) bool { return strings.HasSuffix(p, ".tmp") }
	tests := []struct {
		name    string
		hook    faultfs.Hook
		file    string
		wantErr error
		failOp  vfs.Op // op expected to fail
	}{
		{"no hook", nil, "a.tmp", nil, 0},
		{"write fails on matching path", faultfs.Fail(vfs.OpWrite, isTmp, syscall.ENOSPC), "a.tmp", syscall.ENOSPC, vfs.OpWrite},
		{"write passes on other path", faultfs.Fail(vfs.OpWrite, isTmp, syscall.ENOSPC), "a", nil, 0},
		{"sync fails", faultfs.Fail(vfs.OpSync, nil, syscall.EIO), "a", syscall.EIO, vfs.OpSync},
		{"rename fails", faultfs.Fail(vfs.OpRename, nil, faultfs.ErrInjected), "a", faultfs.ErrInjected, vfs.OpRename},
		{"after 2 ops everything fails", faultfs.AfterN(2, func(vfs.Op, string) error { return faultfs.ErrInjected }), "a", faultfs.ErrInjected, vfs.OpSync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := faultfs.New(vfs.OS{}, tt.hook)
			var failedAt vfs.Op
			step := func(op vfs.Op, err error) bool {
				if err != nil && failedAt == 0 {
					failedAt = op
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("%v: error %v, want %v", op, err, tt.wantErr)
					}
				}
				return err == nil
			}
			p := filepath.Join(dir, tt.file)
			w, err := f.Create(p)
			if step(vfs.OpCreate, err) {
				_, err = w.Write([]byte("x"))
				if step(vfs.OpWrite, err) {
					step(vfs.OpSync, w.Sync())
				}
				w.Close()
			}
			if failedAt == 0 {
				step(vfs.OpRename, f.Rename(p, p+".done"))
			}
			if failedAt != tt.failOp {
				t.Fatalf("failed at %v, want %v", failedAt, tt.failOp)
			}
		})
	}
}

func TestOnce(t *testing.T) {
	h := faultfs.Once(faultfs.Fail(vfs.OpSync, nil, faultfs.ErrInjected))
	if err := h(vfs.OpSync, "a"); !errors.Is(err, faultfs.ErrInjected) {
		t.Fatalf("first: %v", err)
	}
	if err := h(vfs.OpSync, "a"); err != nil {
		t.Fatalf("second: %v", err)
	}
}
