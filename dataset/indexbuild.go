package dataset

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	dag "github.com/ipfs/boxo/ipld/merkledag"
	ft "github.com/ipfs/boxo/ipld/unixfs"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/meshcache/meshcache/internal/atomicfile"
)

// GetBlock fetches a block; BuildIndex calls it for non-leaf blocks only,
// possibly from several goroutines at once (HAMT directories).
type GetBlock func(ctx context.Context, c cid.Cid) (blocks.Block, error)

// indexFileName is the file holding root's index inside an index directory.
func indexFileName(root cid.Cid) string { return root.String() + ".idx" }

// BuildIndex walks the dataset's DAG from rec.Root through its directories
// (plain and HAMT) and file nodes, never fetching a leaf, checks that it
// holds exactly the files of rec with their sizes, and writes the index of
// the dataset into dir atomically (temporary file, fsync, rename, fsync of
// dir), replacing any earlier one. It returns the index opened.
func BuildIndex(ctx context.Context, dir string, rec *Record, get GetBlock) (*Index, error) {
	if err := validateRecord(rec); err != nil {
		return nil, fmt.Errorf("build index: %w", err)
	}
	recBlk, err := EncodeRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("build index: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+indexFileName(rec.Root)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("build index of %s: %w", rec.Root, err)
	}
	tmp := f.Name()
	if err := writeIndex(ctx, f, rec, recBlk.RawData(), get); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("build index of %s: %w", rec.Root, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("build index of %s: %w", rec.Root, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, indexFileName(rec.Root))); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("build index of %s: %w", rec.Root, err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return nil, fmt.Errorf("build index of %s: %w", rec.Root, err)
	}
	return OpenIndex(dir, rec.Root)
}

func writeIndex(ctx context.Context, f *os.File, rec *Record, recBytes []byte, get GetBlock) error {
	w, err := newIndexWriter(f)
	if err != nil {
		return err
	}
	b := &indexBuilder{ctx: ctx, rec: rec, w: w, firstLeaf: make([]int64, len(rec.Files)), fileCIDs: make([]cid.Cid, len(rec.Files))}
	b.dserv = &fetchDAG{get: get, seen: make(map[cid.Cid]struct{})}
	if len(rec.Files) == 1 && rec.Files[0].Path == "" {
		err = b.file(0, &ipld.Link{Cid: rec.Root})
	} else {
		err = b.tree()
	}
	if err != nil {
		return err
	}
	return w.finish(indexTail{firstLeaf: b.firstLeaf, fileCIDs: b.fileCIDs, dirCIDs: b.dirCIDs, meta: b.dserv.meta, record: recBytes})
}

// indexBuilder walks the DAG in the record's order (files sorted by path),
// so leaves are written in the global leaf order as they are found.
type indexBuilder struct {
	ctx       context.Context
	rec       *Record
	w         *indexWriter
	dserv     *fetchDAG
	firstLeaf []int64
	fileCIDs  []cid.Cid
	// dirCIDs in the order directories are entered: the order in which
	// the index derives them from the file list when it is opened.
	dirCIDs []cid.Cid
}

// dirState is a directory on the path to the current file: its entries by
// name, and how many of them the record has used.
type dirState struct {
	path  string
	links map[string]*ipld.Link
	used  int
}

func (b *indexBuilder) tree() error {
	root, err := b.dir("", b.rec.Root)
	if err != nil {
		return err
	}
	stack := []*dirState{root}
	var cur []string
	for i, f := range b.rec.Files {
		dirs := dirComponents(parentDir(f.Path))
		keep := commonDirDepth(cur, dirs)
		for len(stack)-1 > keep {
			if err := stack[len(stack)-1].complete(); err != nil {
				return err
			}
			stack = stack[:len(stack)-1]
		}
		for _, name := range dirs[keep:] {
			top := stack[len(stack)-1]
			l, err := top.take(name)
			if err != nil {
				return err
			}
			d, err := b.dir(joinPath(top.path, name), l.Cid)
			if err != nil {
				return err
			}
			stack = append(stack, d)
		}
		cur = dirs
		l, err := stack[len(stack)-1].take(baseName(f.Path))
		if err != nil {
			return err
		}
		if err := b.file(i, l); err != nil {
			return err
		}
	}
	for _, d := range stack {
		if err := d.complete(); err != nil {
			return err
		}
	}
	return nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (d *dirState) take(name string) (*ipld.Link, error) {
	l, ok := d.links[name]
	if !ok {
		return nil, fmt.Errorf("directory %q of the DAG has no entry %q that the record lists", d.path, name)
	}
	d.used++
	return l, nil
}

func (d *dirState) complete() error {
	if d.used != len(d.links) {
		return fmt.Errorf("directory %q of the DAG has %d entries the record does not list", d.path, len(d.links)-d.used)
	}
	return nil
}

// dir fetches a directory (plain or HAMT) and lists its entries.
func (b *indexBuilder) dir(path string, c cid.Cid) (*dirState, error) {
	nd, err := b.dserv.Get(b.ctx, c)
	if err != nil {
		return nil, fmt.Errorf("directory %q: %w", path, err)
	}
	d, err := uio.NewDirectoryFromNode(b.dserv, nd)
	if err != nil {
		return nil, fmt.Errorf("directory %q (%s): %w", path, c, err)
	}
	b.dirCIDs = append(b.dirCIDs, c)
	st := &dirState{path: path, links: make(map[string]*ipld.Link)}
	err = d.ForEachLink(b.ctx, func(l *ipld.Link) error {
		if _, dup := st.links[l.Name]; dup {
			return fmt.Errorf("entry %q appears twice", l.Name)
		}
		st.links[l.Name] = l
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list directory %q (%s): %w", path, c, err)
	}
	return st, nil
}

// file records file i's leaves. A raw root is the whole file in one leaf
// (or nothing, for the empty file); a dag-pb root is walked down to its
// leaves, whose sizes come from the nodes' blocksizes.
func (b *indexBuilder) file(i int, l *ipld.Link) error {
	f := b.rec.Files[i]
	b.firstLeaf[i] = int64(b.w.n)
	b.fileCIDs[i] = l.Cid
	switch l.Cid.Type() {
	case cid.Raw:
		// A directory link's size is the raw block's size; the root of a
		// single-file dataset has none, and the record's size is trusted.
		if l.Size != 0 && l.Size != uint64(f.Size) || f.Size > ChunkSize {
			return fmt.Errorf("file %q: record says %d bytes, the DAG holds a leaf of %d", f.Path, f.Size, l.Size)
		}
		if f.Size == 0 {
			return nil
		}
		return b.leaf(i, l.Cid, 0, uint64(f.Size))
	case cid.DagProtobuf:
		nd, fsn, err := b.fileNode(l.Cid)
		if err != nil {
			return fmt.Errorf("file %q: %w", f.Path, err)
		}
		if fsn.FileSize() != uint64(f.Size) {
			return fmt.Errorf("file %q: record says %d bytes, the DAG holds %d", f.Path, f.Size, fsn.FileSize())
		}
		if err := b.fileLeaves(i, nd, fsn, 0, 1); err != nil {
			return fmt.Errorf("file %q: %w", f.Path, err)
		}
		return nil
	default:
		return fmt.Errorf("file %q: %s is neither raw nor dag-pb", f.Path, l.Cid)
	}
}

func (b *indexBuilder) fileNode(c cid.Cid) (ipld.Node, *ft.FSNode, error) {
	nd, err := b.dserv.Get(b.ctx, c)
	if err != nil {
		return nil, nil, err
	}
	pn, ok := nd.(*dag.ProtoNode)
	if !ok {
		return nil, nil, fmt.Errorf("node %s is not dag-pb", c)
	}
	fsn, err := ft.FSNodeFromBytes(pn.Data())
	if err != nil {
		return nil, nil, fmt.Errorf("node %s: %w", c, err)
	}
	if fsn.Type() != ft.TFile {
		return nil, nil, fmt.Errorf("node %s is a UnixFS %s, not a file", c, fsn.Type())
	}
	if len(fsn.Data()) > 0 {
		return nil, nil, fmt.Errorf("node %s holds data inline (not a %s dataset)", c, Profile)
	}
	if len(nd.Links()) != fsn.NumChildren() {
		return nil, nil, fmt.Errorf("node %s has %d links but %d block sizes", c, len(nd.Links()), fsn.NumChildren())
	}
	return nd, fsn, nil
}

// maxFileDepth bounds the file node tree: the profile's 1024 links per
// node reach 1024^4 leaves (a PiB) at depth 4.
const maxFileDepth = 8

// fileLeaves records the leaves under one file node, starting at offset off
// within the file. It checks the profile's fixed-size chunking: every leaf
// holds ChunkSize bytes but the file's last, so a file of n bytes has
// exactly ceil(n/ChunkSize) leaves whatever a hostile DAG claims, and leaf
// k of a file starts at k*ChunkSize.
func (b *indexBuilder) fileLeaves(i int, nd ipld.Node, fsn *ft.FSNode, off uint64, depth int) error {
	if depth > maxFileDepth {
		return fmt.Errorf("file nodes nested deeper than %d", maxFileDepth)
	}
	var sum uint64
	for k := range nd.Links() {
		sum += fsn.BlockSize(k)
	}
	if sum != fsn.FileSize() || len(nd.Links()) == 0 {
		return fmt.Errorf("node %s: %d links with block sizes adding up to %d, file size %d", nd.Cid(), len(nd.Links()), sum, fsn.FileSize())
	}
	fileSize := uint64(b.rec.Files[i].Size)
	for k, l := range nd.Links() {
		size := fsn.BlockSize(k)
		switch l.Cid.Type() {
		case cid.Raw:
			if want := min(ChunkSize, fileSize-off); size != want || (l.Size != 0 && l.Size != size) {
				return fmt.Errorf("leaf %s at offset %d holds %d bytes (link says %d), the profile's chunking gives %d", l.Cid, off, size, l.Size, want)
			}
			if err := b.leaf(i, l.Cid, off, size); err != nil {
				return err
			}
		case cid.DagProtobuf:
			cnd, cfsn, err := b.fileNode(l.Cid)
			if err != nil {
				return err
			}
			if cfsn.FileSize() != size {
				return fmt.Errorf("node %s holds %d bytes, its parent says %d", l.Cid, cfsn.FileSize(), size)
			}
			if err := b.fileLeaves(i, cnd, cfsn, off, depth+1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("link to %s: neither raw nor dag-pb", l.Cid)
		}
		off += size
	}
	return nil
}

func (b *indexBuilder) leaf(i int, c cid.Cid, off, size uint64) error {
	digest, err := leafDigest(c)
	if err != nil {
		return err
	}
	return b.w.leaf(digest, uint32(i), uint32(size), off)
}

// fetchDAG is the read-only ipld.DAGService the walk and boxo's directory
// code read through; every block it fetches is a metadata block.
type fetchDAG struct {
	get  GetBlock
	mu   sync.Mutex
	seen map[cid.Cid]struct{}
	meta []cid.Cid
}

var _ ipld.DAGService = (*fetchDAG)(nil)

func (d *fetchDAG) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if c.Type() != cid.DagProtobuf {
		return nil, fmt.Errorf("metadata block %s is not dag-pb", c)
	}
	blk, err := d.get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", c, err)
	}
	// Metadata is small: verifying it here means a walk never trusts the
	// source, whatever get is.
	if got, err := c.Prefix().Sum(blk.RawData()); err != nil || !got.Equals(c) {
		return nil, fmt.Errorf("get %s: bytes do not match the CID", c)
	}
	nd, err := decodeNode(c, blk.RawData())
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	if _, ok := d.seen[c]; !ok {
		d.seen[c] = struct{}{}
		d.meta = append(d.meta, c)
	}
	d.mu.Unlock()
	return nd, nil
}

func (d *fetchDAG) GetMany(ctx context.Context, cids []cid.Cid) <-chan *ipld.NodeOption {
	out := make(chan *ipld.NodeOption, len(cids))
	for _, c := range cids {
		nd, err := d.Get(ctx, c)
		out <- &ipld.NodeOption{Node: nd, Err: err}
	}
	close(out)
	return out
}

func (d *fetchDAG) Add(context.Context, ipld.Node) error        { return errImmutable }
func (d *fetchDAG) AddMany(context.Context, []ipld.Node) error  { return errImmutable }
func (d *fetchDAG) Remove(context.Context, cid.Cid) error       { return errImmutable }
func (d *fetchDAG) RemoveMany(context.Context, []cid.Cid) error { return errImmutable }
