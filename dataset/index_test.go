package dataset

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ipfs/boxo/blockservice"
	bstore "github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/origin"
)

// publishIndexed publishes a fixture and indexes it.
func publishIndexed(t *testing.T, name string) (*PublishResult, *Index, bstore.Blockstore) {
	t.Helper()
	bs := newMemStore()
	res, err := Publish(t.Context(), sharedCase(t, findCase(t, name)), PublishOptions{Store: bs, NoCAR: true})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := BuildIndex(t.Context(), t.TempDir(), res.Record, bs.Get)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return res, ix, bs
}

// TestIndexLookup checks every file and every directory against what the
// fixture's file list implies.
func TestIndexLookup(t *testing.T) {
	res, ix, bs := publishIndexed(t, "nested")
	dserv := merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))
	resolve := func(p string) cid.Cid { return resolveCID(t, dserv, res.Root, p) }
	files := res.Record.Files
	type dirWant struct {
		size     int64
		first    int
		n        int
		children map[string]DirEntry
	}
	dirs := map[string]*dirWant{}
	for i, f := range files {
		e, err := ix.Lookup(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		first, n := ix.FileLeaves(i)
		if e.IsDir || e.CID != resolve(f.Path) || e.Size != f.Size || e.FileNo != i || e.FirstLeaf != first || e.NumLeaves != n || n != (f.Size+ChunkSize-1)/ChunkSize {
			t.Fatalf("Lookup(%q) = %+v (leaves %d+%d)", f.Path, e, first, n)
		}
		if ix.File(i) != f {
			t.Fatalf("File(%d) = %+v, want %+v", i, ix.File(i), f)
		}
		child, childDir := DirEntry{Name: baseName(f.Path), Size: f.Size}, ""
		for p := parentDir(f.Path); ; p = parentDir(p) {
			d := dirs[p]
			if d == nil {
				d = &dirWant{first: i, children: map[string]DirEntry{}}
				dirs[p] = d
			}
			d.size += f.Size
			d.n = i + 1 - d.first
			if childDir == "" {
				d.children[child.Name] = child
			} else {
				d.children[baseName(childDir)] = DirEntry{Name: baseName(childDir), IsDir: true}
			}
			childDir = p
			if p == "" {
				break
			}
		}
	}
	for p, d := range dirs {
		for name, c := range d.children {
			if c.IsDir {
				c.Size = dirs[joinPath(p, name)].size
				d.children[name] = c
			}
		}
		e, err := ix.Lookup("/" + p + "/")
		if err != nil {
			t.Fatal(err)
		}
		firstLeaf, _ := ix.FileLeaves(d.first)
		lastFirst, lastN := ix.FileLeaves(d.first + d.n - 1)
		if !e.IsDir || e.CID != resolve(p) || e.Path != p || e.Size != d.size || e.FileNo != d.first || e.NumFiles != d.n ||
			e.FirstLeaf != firstLeaf || e.FirstLeaf+e.NumLeaves != lastFirst+lastN {
			t.Fatalf("Lookup(%q) = %+v, want size %d files %d+%d", p, e, d.size, d.first, d.n)
		}
		list, err := ix.ReadDir(p)
		if err != nil {
			t.Fatal(err)
		}
		var want []DirEntry
		for _, c := range d.children {
			c.CID = resolve(joinPath(p, c.Name))
			want = append(want, c)
		}
		slices.SortFunc(want, func(a, b DirEntry) int { return strings.Compare(a.Name, b.Name) })
		if !slices.Equal(list, want) {
			t.Fatalf("ReadDir(%q) = %+v, want %+v", p, list, want)
		}
	}
	for _, tc := range []struct {
		path string
		want error
	}{
		{"nope", ErrNoSuchPath},
		{"x/y/z/w", ErrNoSuchPath},
		{"a b/c", ErrNoSuchPath},
	} {
		if _, err := ix.Lookup(tc.path); !errors.Is(err, tc.want) {
			t.Errorf("Lookup(%q) = %v, want %v", tc.path, err, tc.want)
		}
	}
	if _, err := ix.ReadDir("x.txt"); !errors.Is(err, ErrNotDir) {
		t.Errorf("ReadDir of a file = %v, want ErrNotDir", err)
	}
	if e, err := ix.Lookup("x//y/../y/z"); err != nil || e.Path != "x/y/z" {
		t.Errorf("Lookup of an unclean path = %+v, %v", e, err)
	}
}

// TestIndexLeafOrder: leaves tile each file in offset order, files follow
// each other in path order, and Leaves agrees with Leaf.
func TestIndexLeafOrder(t *testing.T) {
	res, ix, bs := publishIndexed(t, "nested")
	all, err := ix.Leaves(0, ix.NumLeaves())
	if err != nil {
		t.Fatal(err)
	}
	var prev Leaf
	for i, l := range all {
		one, err := ix.Leaf(int64(i))
		if err != nil || one != l {
			t.Fatalf("Leaf(%d) = %+v, %v; Leaves gave %+v", i, one, err, l)
		}
		f := res.Record.Files[l.FileNo]
		if want := min(ChunkSize, f.Size-l.Offset); l.Size != want || l.Offset%ChunkSize != 0 {
			t.Fatalf("leaf %d = %+v of %q (%d bytes)", i, l, f.Path, f.Size)
		}
		if i > 0 && (l.FileNo < prev.FileNo || l.FileNo == prev.FileNo && l.Offset != prev.Offset+prev.Size) {
			t.Fatalf("leaf %d = %+v after %+v", i, l, prev)
		}
		if has, _ := bs.Has(t.Context(), l.CID); !has {
			t.Fatalf("leaf %d %s not in the store", i, l.CID)
		}
		prev = l
	}
	for _, r := range [][2]int64{{-1, 0}, {0, ix.NumLeaves() + 1}, {2, 1}} {
		if _, err := ix.Leaves(r[0], r[1]); err == nil {
			t.Errorf("Leaves(%d, %d) succeeded", r[0], r[1])
		}
	}
	// Concurrent readers share the file.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := range ix.NumLeaves() {
				if l, err := ix.Leaf(i); err != nil || l != all[i] {
					t.Errorf("concurrent Leaf(%d) = %+v, %v", i, l, err)
				}
			}
		})
	}
	wg.Wait()
}

func TestIndexSingleFile(t *testing.T) {
	for _, name := range []string{"tiny-single", "uneven-single"} {
		t.Run(name, func(t *testing.T) {
			res, ix, _ := publishIndexed(t, name)
			e, err := ix.Lookup("/")
			if err != nil || e.IsDir || e.CID != res.Root || e.Size != res.Record.Size || e.NumLeaves != ix.NumLeaves() {
				t.Fatalf("Lookup(/) = %+v, %v", e, err)
			}
			if _, err := ix.ReadDir(""); !errors.Is(err, ErrNotDir) {
				t.Fatalf("ReadDir of a file = %v", err)
			}
			if _, err := ix.Lookup("x"); !errors.Is(err, ErrNoSuchPath) {
				t.Fatalf("Lookup(x) = %v", err)
			}
		})
	}
}

func TestIndexEmptyFile(t *testing.T) {
	_, ix, _ := publishIndexed(t, "empty-file")
	e, err := ix.Lookup("empty")
	if err != nil || e.Size != 0 || e.NumLeaves != 0 || ix.NumLeaves() != 0 {
		t.Fatalf("Lookup(empty) = %+v, %v; %d leaves", e, err, ix.NumLeaves())
	}
}

// TestIndexBuildNeverFetchesLeaves: only dag-pb blocks are asked for, and
// each at most once.
func TestIndexBuildNeverFetchesLeaves(t *testing.T) {
	res, _, bs := publishIndexed(t, "hamt")
	asked := map[cid.Cid]int{}
	var mu sync.Mutex
	ix, err := BuildIndex(t.Context(), t.TempDir(), res.Record, func(ctx context.Context, c cid.Cid) (blocks.Block, error) {
		mu.Lock()
		asked[c]++
		mu.Unlock()
		if c.Type() != cid.DagProtobuf {
			t.Errorf("asked for leaf %s", c)
		}
		return bs.Get(ctx, c)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if len(asked) != len(res.MetadataBlocks) {
		t.Fatalf("asked for %d blocks, the dataset has %d metadata blocks", len(asked), len(res.MetadataBlocks))
	}
	if got := ix.MetadataBlocks(); len(got) != len(res.MetadataBlocks) {
		t.Fatalf("index lists %d metadata blocks, want %d", len(got), len(res.MetadataBlocks))
	}
	// Entries of and inside a HAMT directory carry boxo's CIDs.
	dserv := merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))
	last := res.Record.Files[len(res.Record.Files)-1].Path
	for _, p := range []string{"sharded", last, "below-threshold"} {
		e, err := ix.Lookup(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := resolveCID(t, dserv, res.Root, p); e.CID != want {
			t.Fatalf("Lookup(%q).CID = %s, boxo resolves %s", p, e.CID, want)
		}
	}
}

// TestIndexBuildChecksRecord: a record that does not describe the DAG is
// refused, and nothing is left in the index folder.
func TestIndexBuildChecksRecord(t *testing.T) {
	res, _, bs := publishIndexed(t, "nested")
	mutate := func(f func(r *Record)) *Record {
		r := *res.Record
		r.Files = slices.Clone(r.Files)
		f(&r)
		return &r
	}
	for name, rec := range map[string]*Record{
		"missing file": mutate(func(r *Record) { r.Size -= r.Files[0].Size; r.Files = r.Files[1:] }),
		"extra file": mutate(func(r *Record) {
			r.Files = append(r.Files, origin.FileInfo{Path: "zz-not-there", Size: 1})
			r.Size++
		}),
		"wrong size": mutate(func(r *Record) { r.Files[2].Size++; r.Size++ }),
		"other root": mutate(func(r *Record) { r.Root = res.MetadataBlocks[0] }),
	} {
		dir := t.TempDir()
		if ix, err := BuildIndex(t.Context(), dir, rec, bs.Get); err == nil {
			ix.Close()
			t.Errorf("%s: BuildIndex accepted it", name)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("%s: left %d files in the index folder", name, len(ents))
		}
	}
}

// TestIndexCrashSafety: a failed build keeps the old index, a temporary
// file is never opened, and damage is detected.
func TestIndexCrashSafety(t *testing.T) {
	res, _, bs := publishIndexed(t, "nested")
	root := res.Root
	dir := t.TempDir()
	if _, err := OpenIndex(dir, root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenIndex of nothing = %v, want fs.ErrNotExist", err)
	}
	// A crash mid-build leaves only a temporary file.
	if err := os.WriteFile(filepath.Join(dir, "."+indexFileName(root)+".tmp-1"), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIndex(dir, root); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenIndex beside a partial file = %v, want fs.ErrNotExist", err)
	}
	ix, err := BuildIndex(t.Context(), dir, res.Record, bs.Get)
	if err != nil {
		t.Fatal(err)
	}
	ix.Close()
	path := filepath.Join(dir, indexFileName(root))
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A build that fails half way leaves the old index in place.
	failing := func(ctx context.Context, c cid.Cid) (blocks.Block, error) {
		if !c.Equals(root) {
			return nil, errors.New("peer went away")
		}
		return bs.Get(ctx, c)
	}
	if _, err := BuildIndex(t.Context(), dir, res.Record, failing); err == nil {
		t.Fatal("BuildIndex succeeded without its blocks")
	}
	if now, _ := os.ReadFile(path); string(now) != string(good) {
		t.Fatal("a failed build changed the index")
	}
	for name, bad := range map[string][]byte{
		"truncated":      good[:len(good)-1],
		"header damaged": flipByte(good, 20),
		"tail damaged":   flipByte(good, len(good)-10),
		"empty":          nil,
	} {
		if err := os.WriteFile(path, bad, 0o644); err != nil {
			t.Fatal(err)
		}
		if ix, err := OpenIndex(dir, root); !errors.Is(err, ErrBadIndex) {
			if err == nil {
				ix.Close()
			}
			t.Errorf("%s: OpenIndex = %v, want ErrBadIndex", name, err)
		}
	}
	// An index under another root's name is refused.
	other := res.MetadataBlocks[0]
	if err := os.WriteFile(filepath.Join(dir, indexFileName(other)), good, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenIndex(dir, other); !errors.Is(err, ErrBadIndex) {
		t.Errorf("index of another root: OpenIndex = %v, want ErrBadIndex", err)
	}
}
