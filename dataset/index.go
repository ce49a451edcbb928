package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/origin"
)

// Index is the flat index of one dataset: path → entry, and the dataset's
// leaves in a fixed global order (files sorted by path, each file's leaves
// by offset) — the order the mesh's availability bitmaps use too. Leaf
// records stay on disk and are read with ReadAt; the file and directory
// tables are in memory. An Index is safe for concurrent use.
type Index struct {
	f         *os.File
	rec       *Record
	leafCount int64
	// firstLeaf[i] is file i's first leaf; firstLeaf[len(files)] = leafCount.
	firstLeaf []int64
	fileCIDs  []cid.Cid
	meta      []cid.Cid
	dirs      []dirInfo
	dirByPath map[string]int
}

// Entry is a file or directory of a dataset. A directory's files (and so
// its leaves) are contiguous in the global order: files [FileNo,
// FileNo+NumFiles), leaves [FirstLeaf, FirstLeaf+NumLeaves).
type Entry struct {
	Path string
	// CID is the file's or directory's root CID.
	CID       cid.Cid
	IsDir     bool
	Size      int64
	FileNo    int
	NumFiles  int
	FirstLeaf int64
	NumLeaves int64
}

// DirEntry is one entry of a directory listing; a directory's Size is the
// total size of the files under it.
type DirEntry struct {
	Name  string
	CID   cid.Cid
	IsDir bool
	Size  int64
}

// Leaf is one leaf block: the bytes [Offset, Offset+Size) of file FileNo.
type Leaf struct {
	CID    cid.Cid
	FileNo int
	Offset int64
	Size   int64
}

type dirInfo struct {
	path               string
	cid                cid.Cid
	firstFile, endFile int
	size               int64
	children           []dirChild
}

// dirChild is a file (dir < 0) or a directory of a directory.
type dirChild struct {
	name string
	dir  int
	file int
}

// OpenIndex opens the index of root in dir. A missing index is an error
// wrapping fs.ErrNotExist; a damaged one wraps ErrBadIndex.
func OpenIndex(dir string, root cid.Cid) (*Index, error) {
	f, err := os.Open(filepath.Join(dir, indexFileName(root)))
	if err != nil {
		return nil, fmt.Errorf("open index of %s: %w", root, err)
	}
	ix, err := loadIndex(f, root)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open index of %s: %w", root, err)
	}
	return ix, nil
}

func loadIndex(f *os.File, root cid.Cid) (*Index, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	hb := make([]byte, headerSize)
	if _, err := f.ReadAt(hb, 0); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrBadIndex, err)
	}
	h, err := unmarshalHeader(hb, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadIndex, err)
	}
	tail := make([]byte, h.tailLen())
	if _, err := f.ReadAt(tail, int64(h.filesOff())); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %v", ErrBadIndex, err)
	}
	if crc32.Checksum(tail, castagnoli) != h.tailCRC {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrBadIndex)
	}
	ix := &Index{f: f, leafCount: int64(h.numLeaves)}
	dirCIDs, err := ix.loadTail(h, tail, root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadIndex, err)
	}
	ix.buildDirs()
	if len(dirCIDs) != len(ix.dirs) {
		return nil, fmt.Errorf("%w: %d directory CIDs for %d directories", ErrBadIndex, len(dirCIDs), len(ix.dirs))
	}
	for i, c := range dirCIDs {
		ix.dirs[i].cid = c
	}
	return ix, nil
}

func (ix *Index) loadTail(h *indexHeader, tail []byte, root cid.Cid) (dirCIDs []cid.Cid, err error) {
	take := func(n uint64) []byte {
		b := tail[:n]
		tail = tail[n:]
		return b
	}
	files, fileCIDs, dirs, meta, rec := take(8*h.numFiles), take(h.fileCIDsLen), take(h.dirCIDsLen), take(h.metaLen), take(h.recLen)
	if ix.rec, err = DecodeRecord(rec); err != nil {
		return nil, err
	}
	if !ix.rec.Root.Equals(root) {
		return nil, fmt.Errorf("index is of %s", ix.rec.Root)
	}
	if uint64(len(ix.rec.Files)) != h.numFiles {
		return nil, fmt.Errorf("%d files in the table, %d in the record", h.numFiles, len(ix.rec.Files))
	}
	ix.firstLeaf = make([]int64, h.numFiles+1)
	for i := range h.numFiles {
		ix.firstLeaf[i] = int64(binary.LittleEndian.Uint64(files[8*i:]))
	}
	ix.firstLeaf[h.numFiles] = ix.leafCount
	for i := range h.numFiles {
		if ix.firstLeaf[i] < 0 || ix.firstLeaf[i] > ix.firstLeaf[i+1] {
			return nil, fmt.Errorf("file %d's leaves out of order", i)
		}
	}
	if ix.fileCIDs, err = parseCIDs(fileCIDs, int(h.numFiles)); err != nil {
		return nil, fmt.Errorf("file CIDs: %v", err)
	}
	if dirCIDs, err = parseCIDs(dirs, int(h.numDirs)); err != nil {
		return nil, fmt.Errorf("directory CIDs: %v", err)
	}
	if ix.meta, err = parseCIDs(meta, -1); err != nil {
		return nil, fmt.Errorf("metadata CIDs: %v", err)
	}
	return dirCIDs, nil
}

// buildDirs derives the directory tables from the sorted file list: empty
// directories do not exist in a dataset, so every directory is an ancestor
// of a file.
func (ix *Index) buildDirs() {
	if ix.single() {
		return
	}
	ix.dirByPath = map[string]int{"": 0}
	ix.dirs = []dirInfo{{path: ""}}
	for i, f := range ix.rec.Files {
		d := ix.ensureDir(parentDir(f.Path), i)
		ix.dirs[d].children = append(ix.dirs[d].children, dirChild{name: baseName(f.Path), dir: -1, file: i})
		for p := parentDir(f.Path); ; p = parentDir(p) {
			di := &ix.dirs[ix.dirByPath[p]]
			di.size += f.Size
			di.endFile = i + 1
			if p == "" {
				break
			}
		}
	}
	for i := range ix.dirs {
		slices.SortFunc(ix.dirs[i].children, func(a, b dirChild) int {
			switch {
			case a.name < b.name:
				return -1
			case a.name > b.name:
				return 1
			}
			return 0
		})
	}
}

func (ix *Index) ensureDir(p string, file int) int {
	if d, ok := ix.dirByPath[p]; ok {
		return d
	}
	parent := ix.ensureDir(parentDir(p), file)
	d := len(ix.dirs)
	ix.dirs = append(ix.dirs, dirInfo{path: p, firstFile: file})
	ix.dirByPath[p] = d
	ix.dirs[parent].children = append(ix.dirs[parent].children, dirChild{name: baseName(p), dir: d})
	return d
}

func (ix *Index) single() bool { return len(ix.rec.Files) == 1 && ix.rec.Files[0].Path == "" }

// Close closes the index file.
func (ix *Index) Close() error { return ix.f.Close() }

// Record is the dataset's record. Callers must not modify it.
func (ix *Index) Record() *Record { return ix.rec }

// Root is the dataset's root CID.
func (ix *Index) Root() cid.Cid { return ix.rec.Root }

// TotalSize is the dataset's size in bytes.
func (ix *Index) TotalSize() int64 { return ix.rec.Size }

// NumLeaves is the number of leaves in the global order.
func (ix *Index) NumLeaves() int64 { return ix.leafCount }

// NumFiles is the number of files.
func (ix *Index) NumFiles() int { return len(ix.rec.Files) }

// File is file fileNo's version at publish time; its origin location is
// the record's Origin joined with File(fileNo).Path, and a leaf's bytes sit
// at the leaf's Offset within it. It panics if fileNo is out of range.
func (ix *Index) File(fileNo int) origin.FileInfo { return ix.rec.Files[fileNo] }

// FileLeaves is the range of leaves [first, first+n) of file fileNo.
func (ix *Index) FileLeaves(fileNo int) (first, n int64) {
	return ix.firstLeaf[fileNo], ix.firstLeaf[fileNo+1] - ix.firstLeaf[fileNo]
}

// MetadataBlocks are the dataset's non-leaf blocks (all dag-pb), which a
// pin keeps.
func (ix *Index) MetadataBlocks() []cid.Cid { return slices.Clone(ix.meta) }

// Lookup finds a file or directory by path ("", "/" and "." name the root;
// leading and trailing slashes are ignored). The root of a single-file
// dataset is that file.
func (ix *Index) Lookup(p string) (Entry, error) {
	p = cleanPath(p)
	if ix.single() {
		if p != "" {
			return Entry{}, fmt.Errorf("%q: %w", p, ErrNoSuchPath)
		}
		return ix.fileEntry(0), nil
	}
	files := ix.rec.Files
	if i := sort.Search(len(files), func(i int) bool { return files[i].Path >= p }); i < len(files) && files[i].Path == p {
		return ix.fileEntry(i), nil
	}
	if d, ok := ix.dirByPath[p]; ok {
		di := &ix.dirs[d]
		return Entry{
			Path: p, CID: di.cid, IsDir: true, Size: di.size, FileNo: di.firstFile, NumFiles: di.endFile - di.firstFile,
			FirstLeaf: ix.firstLeaf[di.firstFile], NumLeaves: ix.firstLeaf[di.endFile] - ix.firstLeaf[di.firstFile],
		}, nil
	}
	return Entry{}, fmt.Errorf("%q: %w", p, ErrNoSuchPath)
}

func (ix *Index) fileEntry(i int) Entry {
	first, n := ix.FileLeaves(i)
	f := ix.rec.Files[i]
	return Entry{Path: f.Path, CID: ix.fileCIDs[i], Size: f.Size, FileNo: i, NumFiles: 1, FirstLeaf: first, NumLeaves: n}
}

// ReadDir lists a directory sorted by name.
func (ix *Index) ReadDir(p string) ([]DirEntry, error) {
	e, err := ix.Lookup(p)
	if err != nil {
		return nil, err
	}
	if !e.IsDir {
		return nil, fmt.Errorf("%q: %w", e.Path, ErrNotDir)
	}
	di := &ix.dirs[ix.dirByPath[e.Path]]
	out := make([]DirEntry, len(di.children))
	for i, c := range di.children {
		if c.dir >= 0 {
			out[i] = DirEntry{Name: c.name, CID: ix.dirs[c.dir].cid, IsDir: true, Size: ix.dirs[c.dir].size}
		} else {
			out[i] = DirEntry{Name: c.name, CID: ix.fileCIDs[c.file], Size: ix.rec.Files[c.file].Size}
		}
	}
	return out, nil
}

// Leaf reads leaf i of the global order.
func (ix *Index) Leaf(i int64) (Leaf, error) {
	ls, err := ix.Leaves(i, i+1)
	if err != nil {
		return Leaf{}, err
	}
	return ls[0], nil
}

// Leaves reads leaves [from, to) of the global order with one read; page
// through large ranges (each leaf costs 48 bytes here and more in memory).
func (ix *Index) Leaves(from, to int64) ([]Leaf, error) {
	if from < 0 || to < from || to > ix.leafCount {
		return nil, fmt.Errorf("leaves [%d, %d) of %s: out of range [0, %d)", from, to, ix.rec.Root, ix.leafCount)
	}
	buf := make([]byte, (to-from)*leafRecordSize)
	if _, err := ix.f.ReadAt(buf, headerSize+from*leafRecordSize); err != nil {
		return nil, fmt.Errorf("read leaves [%d, %d) of %s: %w", from, to, ix.rec.Root, err)
	}
	out := make([]Leaf, to-from)
	le := binary.LittleEndian
	for k := range out {
		r := buf[k*leafRecordSize:]
		c, err := leafCID(r[:32])
		if err != nil {
			return nil, fmt.Errorf("%w: leaf %d: %v", ErrBadIndex, from+int64(k), err)
		}
		fileNo := int(le.Uint32(r[32:]))
		if fileNo >= len(ix.rec.Files) {
			return nil, fmt.Errorf("%w: leaf %d names file %d of %d", ErrBadIndex, from+int64(k), fileNo, len(ix.rec.Files))
		}
		out[k] = Leaf{CID: c, FileNo: fileNo, Size: int64(le.Uint32(r[36:])), Offset: int64(le.Uint64(r[40:]))}
	}
	return out, nil
}
