package disk_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/multiformats/go-multihash"
	"golang.org/x/sys/unix"
)

// smallDAG builds root -> (leaf, leaf, mid -> (leaf, leaf)) with dag-pb
// internal nodes and raw leaves.
func smallDAG(t *testing.T, rng *rand.Rand) (root cid.Cid, all []blocks.Block) {
	t.Helper()
	builder := cid.V1Builder{Codec: cid.DagProtobuf, MhType: multihash.SHA2_256}
	node := func(children ...blocks.Block) *merkledag.ProtoNode {
		n := merkledag.NodeWithData([]byte{8, 2})
		n.SetCidBuilder(builder)
		for i, c := range children {
			if err := n.AddRawLink(string(rune('a'+i)), &format.Link{Cid: c.Cid(), Size: uint64(len(c.RawData()))}); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	var leaves []blocks.Block
	for range 4 {
		leaves = append(leaves, storetest.RandBlock(t, rng, 2000))
	}
	mid := node(leaves[2], leaves[3])
	top := node(leaves[0], leaves[1], mid)
	return top.Cid(), append(leaves, mid, top)
}

func TestReopenKeepsPinsAndCleansUp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(11, 11))
	root, dag := smallDAG(t, rng)
	stray := storetest.RandBlock(t, rng, 500)
	s := open(t, disk.Config{Dir: dir})
	if err := s.PutMany(ctx, append(dag, stray)); err != nil {
		t.Fatal(err)
	}
	if err := s.Pin(ctx, root, 12345); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Leftovers of writes a crash cut short, and a stranger.
	files, _ := storeFiles(t, vfs.OS{}, dir)
	shard := filepath.Join(dir, "blocks", files[0][len(files[0])-8:len(files[0])-6])
	for _, p := range []string{filepath.Join(shard, ".X.1.tmp"), filepath.Join(dir, ".pins.json.2.tmp"), filepath.Join(shard, "README")} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s = open(t, disk.Config{Dir: dir})
	if _, temps := storeFiles(t, vfs.OS{}, dir); len(temps) != 0 {
		t.Fatalf("temp files left after reopen: %v", temps)
	}
	if _, err := os.Stat(filepath.Join(dir, ".pins.json.2.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("pins temp file left: %v", err)
	}
	pins, err := s.Pins(ctx)
	if err != nil || len(pins) != 1 || !pins[0].Root.Equals(root) || pins[0].Size != 12345 {
		t.Fatalf("pins after reopen: %v, %v", pins, err)
	}
	res, err := s.GC(ctx)
	if err != nil || res.BlocksRemoved != 1 || res.BytesRemoved != 500 {
		t.Fatalf("gc after reopen: %+v, %v; want only the stray block removed", res, err)
	}
	for _, b := range dag {
		if _, err := s.Get(ctx, b.Cid()); err != nil {
			t.Fatalf("pinned block %s after reopen and gc: %v", b.Cid(), err)
		}
	}
	// The two dag-pb nodes were verified when marking read them at start;
	// the four leaves are verified by their first read.
	if st, _ := s.Stat(ctx); st.VerifiedReads != 4 {
		t.Fatalf("first reads after start re-hashed %d blocks, want the 4 leaves", st.VerifiedReads)
	}
}

// TestDiskFull fills a real 8 MiB tmpfs: the Put that does not fit fails
// with ErrNoSpace, leaves nothing behind, the store keeps serving, and
// Puts work again once space is freed.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("TestDiskFull mounts a tmpfs and must run as root")
	}
	ctx := context.Background()
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=8m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", mnt, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	dir := filepath.Join(mnt, "store")
	s := open(t, disk.Config{Dir: dir})
	rng := rand.New(rand.NewPCG(12, 12))
	var stored []blocks.Block
	var failed blocks.Block
	for range 20 {
		b := storetest.RandBlock(t, rng, 1<<20)
		err := s.Put(ctx, b)
		if err == nil {
			stored = append(stored, b)
			continue
		}
		if !errors.Is(err, blockstore.ErrNoSpace) {
			t.Fatalf("put on a full disk: %v, want ErrNoSpace", err)
		}
		failed = b
		break
	}
	if failed == nil || len(stored) < 4 {
		t.Fatalf("stored %d MiB on an 8 MiB tmpfs without running out", len(stored))
	}
	files, temps := storeFiles(t, vfs.OS{}, dir)
	if len(temps) != 0 || len(files) != len(stored) {
		t.Fatalf("after ENOSPC: %d block files for %d stored, temps %v", len(files), len(stored), temps)
	}
	if has, _ := s.Has(ctx, failed.Cid()); has {
		t.Fatal("the block that did not fit is listed")
	}
	if n := checkAll(t, s); n != len(stored) {
		t.Fatalf("%d readable blocks, want %d", n, len(stored))
	}
	for _, b := range stored[:2] {
		if err := s.DeleteBlock(ctx, b.Cid()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, failed); err != nil {
		t.Fatalf("put after freeing space: %v", err)
	}
	s.Close()
	s = open(t, disk.Config{Dir: dir})
	if n := checkAll(t, s); n != len(stored)-1 {
		t.Fatalf("after reopen %d blocks, want %d", n, len(stored)-1)
	}
	s.Close()
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  disk.Config
		ok   bool
	}{
		{"defaults", disk.Config{Dir: "/x"}, true},
		{"no dir", disk.Config{}, false},
		{"negative capacity", disk.Config{Dir: "/x", Capacity: -1}, false},
		{"high above 1", disk.Config{Dir: "/x", HighWater: 1.5}, false},
		{"low above high", disk.Config{Dir: "/x", HighWater: 0.8, LowWater: 0.9}, false},
		{"bad verify mode", disk.Config{Dir: "/x", VerifyReads: 7}, false},
		{"unknown policy", disk.Config{Dir: "/x", Policy: "fifo"}, false},
		{"scrub off", disk.Config{Dir: "/x", ScrubInterval: -time.Second}, true},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
	for in, want := range map[string]disk.VerifyMode{"first": disk.VerifyFirst, "always": disk.VerifyAlways} {
		if got, err := disk.ParseVerifyMode(in); err != nil || got != want || got.String() != in {
			t.Errorf("ParseVerifyMode(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := disk.ParseVerifyMode("sometimes"); err == nil {
		t.Error("ParseVerifyMode accepted nonsense")
	}
}
