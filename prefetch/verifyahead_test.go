package prefetch

import (
	"bytes"
	"testing"

	blocks "github.com/ipfs/go-block-format"

	"github.com/meshcache/meshcache/blockstore/disk"
)

// TestReadAheadVerifies: after a restart every held block is hashed on its
// first read; a sequential reader's read-ahead has the store hash every
// other block ahead of it in the background (the reader hashes the ones in
// between itself, so two cores work), and nothing is fetched.
func TestReadAheadVerifies(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	dir := t.TempDir()
	s, err := disk.New(disk.Config{Dir: dir, ScrubInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var leaves []Want
	for _, w := range wants(t, f.index(t)) {
		b, err := blocks.NewBlockWithCid(f.leafBytes(w), w.CID)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
		if w.File.Path == "a.bin" {
			leaves = append(leaves, w)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The restart: the blocks are held and not verified since.
	if s, err = disk.New(disk.Config{Dir: dir, ScrubInterval: -1}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if len(leaves) < 3 || !s.Unverified(leaves[2].CID) {
		t.Fatalf("a.bin has %d leaves; want at least 3, unverified after the restart", len(leaves))
	}
	rec := &recordingOrigin{}
	m := newManager(t, f, s, t.TempDir(), recorderFor(t, f, rec))
	startManager(t, m)
	if _, err := m.Catalog().Index(ctx, f.root, f.url); err != nil {
		t.Fatalf("learn the dataset: %v", err)
	}
	base := len(rec.seen()) // the metadata, from the origin's CAR
	file, _, err := m.Open(ctx, f.root, "a.bin")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := file.WriteRange(ctx, &buf, 0, 100); err != nil || !bytes.Equal(buf.Bytes(), f.data["a.bin"][:100]) {
		t.Fatalf("read the first 100 bytes: %v", err)
	}
	waitFor(t, "the read-ahead to hash every other block of a.bin", func() bool {
		for i := 2; i < len(leaves); i += 2 {
			if s.Unverified(leaves[i].CID) {
				return false
			}
		}
		return true
	})
	if !s.Unverified(leaves[1].CID) {
		t.Error("the block right after the reader's was hashed ahead; it is the reader's own to hash")
	}
	st, err := s.Stat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.VerifiedReads != 1 {
		t.Errorf("readers hashed %d blocks, want 1 (the one read)", st.VerifiedReads)
	}
	if reads := rec.seen()[base:]; len(reads) != 0 {
		t.Errorf("read-ahead of held blocks read the origin: %+v", reads)
	}
}
