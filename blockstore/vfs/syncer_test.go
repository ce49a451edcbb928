package vfs_test

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/blockstore/vfs/faultfs"
)

// TestMemSyncer: a Syncer's Sync makes every file's data and every
// directory entry durable at once, and only what was written before it.
func TestMemSyncer(t *testing.T) {
	m := vfs.NewMem()
	if err := m.MkdirAll("/d/e", 0o755); err != nil {
		t.Fatal(err)
	}
	sy, err := m.OpenSyncer("/d")
	if err != nil {
		t.Fatal(err)
	}
	defer sy.Close()
	writeFile(t, m, "/d/e/a", "one", false)
	writeFile(t, m, "/d/t", "two", false)
	if err := m.Rename("/d/t", "/d/b"); err != nil {
		t.Fatal(err)
	}
	if err := sy.Sync(); err != nil {
		t.Fatal(err)
	}
	writeFile(t, m, "/d/late", "lost", false)
	w, err := m.Open("/d/b")
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	m.Crash()
	for p, want := range map[string]string{"/d/e/a": "one", "/d/b": "two"} {
		if got, err := readFile(m, p); err != nil || got != want {
			t.Errorf("%s after crash: %q, %v; want %q", p, got, err, want)
		}
	}
	for _, p := range []string{"/d/t", "/d/late"} {
		if _, err := m.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s after crash: %v, want absent", p, err)
		}
	}
	if err := sy.Sync(); !errors.Is(err, vfs.ErrCrashed) {
		t.Fatalf("sync of a syncer from before the crash: %v, want ErrCrashed", err)
	}
}

// TestMemSyncerKeepsLaterWrites: data written to a file after a syncfs is
// not durable until the next one.
func TestMemSyncerKeepsLaterWrites(t *testing.T) {
	m := vfs.NewMem()
	sy, err := m.OpenSyncer("/")
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Create("/a")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("abc"))
	if err := sy.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("def"))
	c := m.CrashClone()
	if got, err := readFile(c, "/a"); err != nil || got != "abc" {
		t.Fatalf("after crash: %q, %v; want the synced abc", got, err)
	}
	if err := sy.Sync(); err != nil {
		t.Fatal(err)
	}
	if got, _ := readFile(m.CrashClone(), "/a"); got != "abcdef" {
		t.Fatalf("after the second sync: %q", got)
	}
}

// TestCreateDirect writes sizes around the O_DIRECT alignment, from
// aligned and unaligned buffers, and reads them back.
func TestCreateDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src := make([]byte, 1<<20+8192)
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	for name, mk := range map[string]func(t *testing.T) (vfs.FS, string){
		"os":  func(t *testing.T) (vfs.FS, string) { return vfs.OS{}, t.TempDir() },
		"mem": func(t *testing.T) (vfs.FS, string) { return vfs.NewMem(), "/" },
	} {
		t.Run(name, func(t *testing.T) {
			fsys, dir := mk(t)
			sy, err := fsys.OpenSyncer(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer sy.Close()
			for _, size := range []int{0, 1, 4095, 4096, 4097, 130_000, 1 << 20, 1<<20 + 3} {
				for _, off := range []int{0, 1} { // src[0:] is page aligned (a large allocation)
					data := src[off : off+size]
					p := filepath.Join(dir, "f")
					f, err := fsys.CreateDirect(p)
					if err != nil {
						t.Fatal(err)
					}
					if n, err := f.Write(data); err != nil || n != size {
						t.Fatalf("size %d off %d: wrote %d, %v", size, off, n, err)
					}
					if err := f.Close(); err != nil {
						t.Fatal(err)
					}
					if err := sy.Sync(); err != nil {
						t.Fatal(err)
					}
					r, err := fsys.Open(p)
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(r)
					r.Close()
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("size %d off %d: read back %d bytes (%v), equal %v", size, off, len(got), err, bytes.Equal(got, data))
					}
					if err := fsys.Remove(p); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// TestFaultSyncFS: a hook sees each Sync of a Syncer as OpSyncFS on its
// directory and can fail it.
func TestFaultSyncFS(t *testing.T) {
	dir := t.TempDir()
	var seen []string
	f := faultfs.New(vfs.OS{}, func(op vfs.Op, path string) error {
		if op == vfs.OpSyncFS {
			seen = append(seen, path)
			if len(seen) == 2 {
				return faultfs.ErrInjected
			}
		}
		return nil
	})
	sy, err := f.OpenSyncer(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sy.Close()
	if err := sy.Sync(); err != nil {
		t.Fatalf("first sync: %v", err)
	}
	if err := sy.Sync(); !errors.Is(err, faultfs.ErrInjected) {
		t.Fatalf("second sync: %v, want injected", err)
	}
	if len(seen) != 2 || seen[0] != dir {
		t.Fatalf("hook saw %v", seen)
	}
}
