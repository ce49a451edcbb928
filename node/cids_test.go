package node

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/api"
)

var rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}

// TestDirectoryAndFileCIDs checks the CIDs the API reports for paths
// against CIDs derived independently: a one-block file is its raw leaf, an
// empty file the empty raw block, and a sub-folder has the root that
// publishing that folder alone gives. They must stay right after garbage
// collection removed the unpinned dataset's blocks, and files must then
// read through from the origin.
func TestDirectoryAndFileCIDs(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir := filepath.Join(t.TempDir(), "data")
	writeFixture(t, dir, standardFiles)
	d := startDaemon(t, Config{AllowOrigins: []string{"file://" + dir}})
	root := publish(ctx, t, d.c, api.PublishRequest{Origin: "file://" + dir})
	nested := publish(ctx, t, d.c, api.PublishRequest{Origin: "file://" + filepath.Join(dir, "nested"), NoStore: true})
	empty, err := rawPrefix.Sum(nil)
	if err != nil {
		t.Fatal(err)
	}
	small, err := rawPrefix.Sum(fileBytes(t, filepath.Join(dir, "small.bin"), 0, 1000))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cid.Cid{"": root, "nested": nested, "empty.txt": empty, "nested/deeper/empty too": empty, "small.bin": small}

	check := func(stage string) {
		t.Helper()
		for p, c := range want {
			fi, err := d.c.Stat(ctx, root, p)
			if err != nil {
				t.Errorf("%s: stat %q: %v", stage, p, err)
				continue
			}
			if !cid.Cid(fi.CID).Equals(c) {
				t.Errorf("%s: %q has CID %s, want %s", stage, p, fi.CID, c)
			}
		}
		top, err := d.c.ReadDir(ctx, root, "")
		if err != nil {
			t.Fatalf("%s: list root: %v", stage, err)
		}
		for _, e := range top.Entries {
			if c, ok := want[e.Name]; ok && !cid.Cid(e.CID).Equals(c) {
				t.Errorf("%s: listing gives %q CID %s, want %s", stage, e.Name, e.CID, c)
			}
		}
		if !cid.Cid(top.CID).Equals(root) {
			t.Errorf("%s: root listing has CID %s, want %s", stage, top.CID, root)
		}
	}
	check("published")
	// The directory's block is the dag-pb node the CID names.
	checkBlock(ctx, t, d.c, nested)

	if _, err := d.c.GC(ctx); err != nil {
		t.Fatalf("gc: %v", err)
	}
	st, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Store.Blocks != 0 {
		t.Fatalf("gc left %d blocks of unpinned datasets", st.Store.Blocks)
	}
	check("after gc")
	checkAllFiles(ctx, t, d.c, root, dir, standardFiles)
}

// checkBlock fetches block c through the API and checks it hashes to c.
func checkBlock(ctx context.Context, t testing.TB, c *api.Client, want cid.Cid) {
	t.Helper()
	data, err := c.Block(ctx, want)
	if err != nil {
		t.Fatalf("block %s: %v", want, err)
	}
	got, err := want.Prefix().Sum(data)
	if err != nil || !got.Equals(want) {
		t.Errorf("block %s: its bytes hash to %s (%v)", want, got, err)
	}
}
