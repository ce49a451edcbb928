package disk_test

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
	"github.com/meshcache/meshcache/blockstore/vfs"
)

// flipByte corrupts one byte of the only block file under dir in place,
// keeping its size and mtime, as silent disk corruption would.
func flipByte(t *testing.T, dir string) {
	t.Helper()
	files, _ := storeFiles(t, vfs.OS{}, dir)
	if len(files) != 1 {
		t.Fatalf("want one block file, have %d", len(files))
	}
	name := files[0]
	path := filepath.Join(dir, "blocks", name[len(name)-8:len(name)-6], name)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	off := st.Size() / 2
	if _, err := f.ReadAt(buf, off); err != nil {
		t.Fatal(err)
	}
	buf[0] ^= 0x40
	if _, err := f.WriteAt(buf, off); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(path); st2.Size() != st.Size() || !st2.ModTime().Equal(st.ModTime()) {
		t.Fatal("corruption changed size or mtime")
	}
}

// TestCorruptionOnFirstRead: a block corrupted while the store was down is
// caught by its first read after start, whichever read path is used.
func TestCorruptionOnFirstRead(t *testing.T) {
	readers := map[string]func(s *disk.Store, b blocks.Block) error{
		"Get": func(s *disk.Store, b blocks.Block) error {
			_, err := s.Get(context.Background(), b.Cid())
			return err
		},
		"OpenFile": func(s *disk.Store, b blocks.Block) error {
			f, _, err := s.OpenFile(context.Background(), b.Cid())
			if err == nil {
				f.Close()
			}
			return err
		},
		"View": func(s *disk.Store, b blocks.Block) error {
			return s.View(context.Background(), b.Cid(), func([]byte) error { return nil })
		},
	}
	for name, read := range readers {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			b := storetest.RandBlock(t, rand.New(rand.NewPCG(5, 5)), 64<<10)
			s := open(t, disk.Config{Dir: dir})
			if err := s.Put(ctx, b); err != nil {
				t.Fatal(err)
			}
			s.Close()
			flipByte(t, dir)
			s = open(t, disk.Config{Dir: dir})
			err := read(s, b)
			if !errors.Is(err, blockstore.ErrCorrupt) || errors.Is(err, blockstore.ErrNotFound) {
				t.Fatalf("first read of a corrupt block: %v, want ErrCorrupt (and not ErrNotFound)", err)
			}
			if err := read(s, b); !errors.Is(err, blockstore.ErrNotFound) {
				t.Fatalf("second read: %v, want not found (quarantined)", err)
			}
			if has, _ := s.Has(ctx, b.Cid()); has {
				t.Fatal("quarantined block still listed")
			}
			st, _ := s.Stat(ctx)
			if st.Corrupt != 1 || st.Blocks != 0 || st.Bytes != 0 {
				t.Fatalf("stats %+v, want 1 corrupt, nothing held", st)
			}
			if q := quarantined(t, dir); len(q) != 1 {
				t.Fatalf("quarantine holds %d files, want 1", len(q))
			}
			if err := s.Put(ctx, b); err != nil {
				t.Fatalf("put the good bytes again: %v", err)
			}
			if err := read(s, b); err != nil {
				t.Fatalf("read after re-put: %v", err)
			}
		})
	}
}

// TestVerifyAlways: with VerifyAlways a block corrupted after its first
// read is still caught; with the default a verified block is served from
// then on without re-hashing.
func TestVerifyAlways(t *testing.T) {
	for _, mode := range []disk.VerifyMode{disk.VerifyFirst, disk.VerifyAlways} {
		t.Run(mode.String(), func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			b := storetest.RandBlock(t, rand.New(rand.NewPCG(6, 6)), 10<<10)
			s := open(t, disk.Config{Dir: dir, VerifyReads: mode})
			if err := s.Put(ctx, b); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, b.Cid()); err != nil {
				t.Fatal(err)
			}
			flipByte(t, dir)
			_, err := s.Get(ctx, b.Cid())
			st, _ := s.Stat(ctx)
			switch mode {
			case disk.VerifyAlways:
				if !errors.Is(err, blockstore.ErrCorrupt) || st.VerifiedReads != 2 {
					t.Fatalf("read after corruption: %v, %d verified reads; want ErrCorrupt, 2", err, st.VerifiedReads)
				}
			case disk.VerifyFirst:
				if err != nil || st.VerifiedReads != 0 {
					t.Fatalf("read of a block verified at Put: %v, %d verified reads; want no re-hash", err, st.VerifiedReads)
				}
			}
		})
	}
}

// TestScrubFindsCorruptIdleBlock: a block nobody reads is re-verified by the
// scrub and quarantined; good blocks are left alone.
func TestScrubFindsCorruptIdleBlock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(8, 8))
	bad := storetest.RandBlock(t, rng, 32<<10)
	s := open(t, disk.Config{Dir: dir})
	if err := s.Put(ctx, bad); err != nil {
		t.Fatal(err)
	}
	s.Close()
	flipByte(t, dir)
	s = open(t, disk.Config{Dir: dir, ScrubInterval: 20 * time.Millisecond, ScrubRate: 1 << 30})
	good := storetest.RandBlock(t, rng, 32<<10)
	if err := s.Put(ctx, good); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := s.Stat(ctx)
		if st.Corrupt == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scrub did not find the corrupt block: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if has, _ := s.Has(ctx, bad.Cid()); has {
		t.Fatal("corrupt block still held after scrub")
	}
	time.Sleep(60 * time.Millisecond) // more passes over the good block
	if st, _ := s.Stat(ctx); st.Corrupt != 1 || st.Blocks != 1 {
		t.Fatalf("stats %+v: want 1 corrupt, the good block kept", st)
	}
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop when the store closed")
	}
}

// TestOpenFile: the zero-copy path gives the block's bytes and size, and
// says clearly when the file system has no OS files.
func TestOpenFile(t *testing.T) {
	ctx := context.Background()
	b := storetest.RandBlock(t, rand.New(rand.NewPCG(9, 9)), 100<<10)
	s := open(t, disk.Config{Dir: t.TempDir()})
	if err := s.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	f, size, err := s.OpenFile(ctx, b.Cid())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	f.Close()
	if err != nil || size != int64(len(b.RawData())) || string(got) != string(b.RawData()) {
		t.Fatalf("OpenFile gave %d bytes (size %d), %v", len(got), size, err)
	}
	if _, _, err := s.OpenFile(ctx, storetest.RandBlock(t, rand.New(rand.NewPCG(1, 9)), 5).Cid()); !errors.Is(err, blockstore.ErrNotFound) {
		t.Fatalf("OpenFile of an absent block: %v", err)
	}
	m := open(t, disk.Config{Dir: "/s", FS: vfs.NewMem()})
	if err := m.Put(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.OpenFile(ctx, b.Cid()); err == nil {
		t.Fatal("OpenFile on an in-memory FS returned a file")
	}
}

// TestCorruptChildFoundWhileMarking: storing a pinned parent makes marking
// read its held child; if that child is corrupt (and in the same batch) it
// is quarantined without deadlocking the batch, and can be stored again.
func TestCorruptChildFoundWhileMarking(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root, dag := smallDAG(t, rand.New(rand.NewPCG(13, 13)))
	top, mid := dag[len(dag)-1], dag[len(dag)-2]
	s := open(t, disk.Config{Dir: dir})
	if err := s.Put(ctx, mid); err != nil {
		t.Fatal(err)
	}
	s.Close()
	flipByte(t, dir)
	s = open(t, disk.Config{Dir: dir})
	if err := s.Pin(ctx, root, 1<<20); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.PutMany(ctx, []blocks.Block{top, mid}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("putmany: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("putmany deadlocked quarantining a block of its own batch")
	}
	if st, _ := s.Stat(ctx); st.Corrupt != 1 {
		t.Fatalf("corrupt child not caught while marking: %+v", st)
	}
	if err := s.Put(ctx, mid); err != nil {
		t.Fatal(err)
	}
	if res, err := s.GC(ctx); err != nil || res.BlocksRemoved != 0 {
		t.Fatalf("gc: %+v, %v; want both pinned blocks kept", res, err)
	}
}

// TestRunStopsWithContext: the scrub loop returns once its context ends,
// with the store still open (a daemon's shutdown waits for it).
func TestRunStopsWithContext(t *testing.T) {
	s := open(t, disk.Config{Dir: t.TempDir()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(20 * time.Millisecond) // let the first pass finish and the wait begin
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v, want nil after cancellation", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run kept going after its context ended")
	}
}
