package dataset

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ipfs/boxo/blockservice"
	bstore "github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	unixfspb "github.com/ipfs/boxo/ipld/unixfs/pb"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"

	"github.com/meshcache/meshcache/dataset/internal/fixture"
	"github.com/meshcache/meshcache/origin"
)

func findCase(t testing.TB, name string) fixture.Case {
	t.Helper()
	for _, c := range fixture.Cases() {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no fixture %q", name)
	return fixture.Case{}
}

// TestPublishReadBack publishes, indexes, and reads every file back through
// the index and the store, and through boxo's own UnixFS reader as a check
// of the DAG independent of the index.
func TestPublishReadBack(t *testing.T) {
	for _, name := range []string{"empty-file", "small", "uneven", "nested", "hamt", "tiny-single", "uneven-single"} {
		t.Run(name, func(t *testing.T) {
			c := findCase(t, name)
			o := sharedCase(t, c)
			bs := newMemStore()
			res, err := Publish(t.Context(), o, PublishOptions{Store: bs})
			if err != nil {
				t.Fatal(err)
			}
			ix, err := BuildIndex(t.Context(), t.TempDir(), res.Record, bs.Get)
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			dserv := merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))
			src := caseBytes(c)
			if len(src) != len(res.Record.Files) {
				t.Fatalf("record lists %d files, the fixture has %d", len(res.Record.Files), len(src))
			}
			for i, f := range res.Record.Files {
				want, ok := src[f.Path]
				if !ok {
					t.Fatalf("record lists %q, not in the fixture", f.Path)
				}
				if got := readThroughIndex(t, ix, bs, f.Path); !bytes.Equal(got, want) {
					t.Fatalf("%q read through the index differs from the source", f.Path)
				}
				// boxo resolves every path from the root: a sample will do
				// for the thousands of files of the HAMT case.
				if i%97 != 0 && len(c.Files) > 100 {
					continue
				}
				if got := readThroughBoxo(t, dserv, res.Root, f.Path); !bytes.Equal(got, want) {
					t.Fatalf("%q read through boxo differs from the source", f.Path)
				}
			}
			if ix.TotalSize() != res.Record.Size || res.BytesRead != res.Record.Size {
				t.Fatalf("sizes: index %d, record %d, read %d", ix.TotalSize(), res.Record.Size, res.BytesRead)
			}
			if res.Leaves != ix.NumLeaves() {
				t.Fatalf("publish made %d leaves, index has %d", res.Leaves, ix.NumLeaves())
			}
		})
	}
}

// resolveNode resolves a path with boxo's directories (plain and HAMT).
func resolveNode(t testing.TB, dserv ipldDAG, root cid.Cid, path string) format.Node {
	t.Helper()
	ctx := context.Background()
	nd, err := dserv.Get(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if path != "" {
		for _, name := range strings.Split(path, "/") {
			d, err := uio.NewDirectoryFromNode(dserv, nd)
			if err != nil {
				t.Fatal(err)
			}
			if nd, err = d.Find(ctx, name); err != nil {
				t.Fatalf("find %q in %q: %v", name, path, err)
			}
		}
	}
	return nd
}

func resolveCID(t testing.TB, dserv ipldDAG, root cid.Cid, path string) cid.Cid {
	return resolveNode(t, dserv, root, path).Cid()
}

func readThroughBoxo(t testing.TB, dserv ipldDAG, root cid.Cid, path string) []byte {
	t.Helper()
	ctx := context.Background()
	nd := resolveNode(t, dserv, root, path)
	r, err := uio.NewDagReader(ctx, nd, dserv)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPublishReusesBuffers: with a store that copies blocks, read buffers
// are reused, and every byte stored is still right.
func TestPublishReusesBuffers(t *testing.T) {
	for _, name := range []string{"nested", "uneven"} {
		c := findCase(t, name)
		mem := newMemStore()
		bs := &copyingStore{Blockstore: mem}
		// A small window makes buffers go round many times.
		res, err := Publish(t.Context(), sharedCase(t, c), PublishOptions{Store: bs, NoCAR: true, Window: minWindow(ChunkSize), BatchBytes: ChunkSize})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Root.Equals(goldenRoot(t, name)) {
			t.Fatalf("%s: root %s, want %s", name, res.Root, goldenRoot(t, name))
		}
		ix, err := BuildIndex(t.Context(), t.TempDir(), res.Record, mem.Get)
		if err != nil {
			t.Fatal(err)
		}
		for path, want := range caseBytes(c) {
			if got := readThroughIndex(t, ix, mem, path); !bytes.Equal(got, want) {
				t.Fatalf("%s: %q differs from the source", name, path)
			}
		}
		ix.Close()
	}
}

// copyingStore copies blocks into an in-memory store, as a disk store
// copies them into files, and says so.
type copyingStore struct{ bstore.Blockstore }

func (s *copyingStore) CopiesBlocks() bool { return true }

func (s *copyingStore) PutMany(ctx context.Context, blks []blocks.Block) error {
	cp := make([]blocks.Block, len(blks))
	for i, b := range blks {
		var err error
		if cp[i], err = blocks.NewBlockWithCid(bytes.Clone(b.RawData()), b.Cid()); err != nil {
			return err
		}
	}
	return s.Blockstore.PutMany(ctx, cp)
}

// TestPublishHAMTShape checks the fixture exercises both sides of the HAMT
// threshold, so the golden test covers block-based size estimation.
func TestPublishHAMTShape(t *testing.T) {
	bs := newMemStore()
	res, err := Publish(t.Context(), sharedCase(t, findCase(t, "hamt")), PublishOptions{Store: bs, NoStore: true})
	if err != nil {
		t.Fatal(err)
	}
	dserv := merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))
	root, err := dserv.Get(t.Context(), res.Root)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]unixfspb.Data_DataType{"sharded": ft.THAMTShard, "below-threshold": ft.TDirectory} {
		l, _, err := root.ResolveLink([]string{name})
		if err != nil {
			t.Fatal(err)
		}
		nd, err := dserv.Get(t.Context(), l.Cid)
		if err != nil {
			t.Fatal(err)
		}
		fsn, err := ft.ExtractFSNode(nd)
		if err != nil {
			t.Fatal(err)
		}
		if fsn.Type() != want {
			t.Fatalf("%s is a %s, want %s", name, fsn.Type(), want)
		}
	}
}

// TestPublishNoStore: only the metadata reaches the store; with leaves
// stored, the store holds exactly metadata + distinct leaves.
func TestPublishNoStore(t *testing.T) {
	o := sharedCase(t, findCase(t, "nested"))
	bs := newMemStore()
	res, err := Publish(t.Context(), o, PublishOptions{Store: bs, NoStore: true, NoCAR: true})
	if err != nil {
		t.Fatal(err)
	}
	assertStoreHolds(t, bs, res.MetadataBlocks)
	for _, c := range res.MetadataBlocks {
		if c.Type() != cid.DagProtobuf {
			t.Fatalf("metadata block %s is not dag-pb", c)
		}
	}
	ix, err := BuildIndex(t.Context(), t.TempDir(), res.Record, bs.Get)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	all := append([]cid.Cid(nil), res.MetadataBlocks...)
	leaves, err := ix.Leaves(0, ix.NumLeaves())
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaves {
		all = append(all, l.CID)
	}
	bs2 := newMemStore()
	res2, err := Publish(t.Context(), o, PublishOptions{Store: bs2, NoCAR: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Root.Equals(res.Root) {
		t.Fatalf("NoStore changed the root: %s vs %s", res.Root, res2.Root)
	}
	assertStoreHolds(t, bs2, dedupe(all))
	if got, want := ix.MetadataBlocks(), res.MetadataBlocks; len(got) != len(want) {
		t.Fatalf("index lists %d metadata blocks, publish made %d", len(got), len(want))
	}
}

func dedupe(cs []cid.Cid) []cid.Cid {
	seen := map[cid.Cid]bool{}
	var out []cid.Cid
	for _, c := range cs {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// TestPublishProgress: the last report covers everything.
func TestPublishProgress(t *testing.T) {
	c := findCase(t, "nested")
	var last Progress
	var calls int
	res, err := Publish(t.Context(), sharedCase(t, c), PublishOptions{Store: newMemStore(), Progress: func(p Progress) {
		if p.Bytes < last.Bytes || p.Files < last.Files {
			t.Errorf("progress went backwards: %+v after %+v", p, last)
		}
		last = p
		calls++
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := Progress{Files: len(c.Files), FilesTotal: len(c.Files), Bytes: res.Record.Size, BytesTotal: res.Record.Size}
	if last != want || calls == 0 {
		t.Fatalf("last progress %+v after %d calls, want %+v", last, calls, want)
	}
}

// TestPublishSkipsMeshcacheFolder: a listing that includes .meshcache/
// (earlier CAR files) gives the same root as one that does not.
func TestPublishSkipsMeshcacheFolder(t *testing.T) {
	c := findCase(t, "small")
	o := writeCase(t, c)
	if err := os.MkdirAll(filepath.Join(o.root, ".meshcache"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.root, ".meshcache", "old.car"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Publish(t.Context(), &listAllOrigin{o}, PublishOptions{Store: newMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	if want := goldenRoot(t, c.Name); !res.Root.Equals(want) {
		t.Fatalf("root %s, want %s", res.Root, want)
	}
	for _, f := range res.Record.Files {
		if strings.HasPrefix(f.Path, ".meshcache") {
			t.Fatalf("record lists %s", f.Path)
		}
	}
}

// listAllOrigin lists .meshcache/ too, as a careless origin might.
type listAllOrigin struct{ *dirOrigin }

func (o *listAllOrigin) List(ctx context.Context) ([]origin.FileInfo, error) {
	files, err := o.dirOrigin.List(ctx)
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(filepath.Join(o.root, ".meshcache", "old.car"))
	if err != nil {
		return nil, err
	}
	files = append([]origin.FileInfo{{Path: ".meshcache/old.car", Size: st.Size(), ModTime: st.ModTime()}}, files...)
	return files, nil
}

func TestPublishOptionsValidate(t *testing.T) {
	bs := newMemStore()
	for _, tc := range []struct {
		name string
		opts PublishOptions
		ok   bool
	}{
		{"defaults", PublishOptions{Store: bs}, true},
		{"no store", PublishOptions{}, false},
		{"negative workers", PublishOptions{Store: bs, Workers: -1}, false},
		{"window below a batch and two chunks", PublishOptions{Store: bs, Window: 4 << 20, BatchBytes: 3 << 20}, false},
		{"smallest window", PublishOptions{Store: bs, Window: minWindow(1), BatchBytes: 1}, true},
	} {
		if err := tc.opts.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestPublishRejectsBadListing: an origin listing that cannot be a dataset
// fails before anything is read.
func TestPublishRejectsBadListing(t *testing.T) {
	for name, files := range map[string][]origin.FileInfo{
		"empty":    nil,
		"unsorted": {{Path: "b"}, {Path: "a"}},
		"dotdot":   {{Path: "../etc/passwd"}},
		"clash":    {{Path: "a"}, {Path: "a/b"}},
	} {
		o := &fixedListOrigin{files: files}
		if _, err := Publish(t.Context(), o, PublishOptions{Store: newMemStore()}); err == nil || o.reads.Load() != 0 {
			t.Errorf("%s: Publish = %v after %d reads, want an error before any read", name, err, o.reads.Load())
		}
	}
}

type fixedListOrigin struct {
	files []origin.FileInfo
	reads atomic.Int64
}

func (o *fixedListOrigin) URL() string                                     { return "test://fixed" }
func (o *fixedListOrigin) List(context.Context) ([]origin.FileInfo, error) { return o.files, nil }
func (o *fixedListOrigin) Stat(context.Context, string) (origin.FileInfo, error) {
	return origin.FileInfo{}, origin.ErrNotFound
}
func (o *fixedListOrigin) ReadRange(context.Context, string, int64, int64, origin.FileInfo) (io.ReadCloser, error) {
	o.reads.Add(1)
	return nil, origin.ErrNotFound
}
