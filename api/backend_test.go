package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// testBackend is an in-memory Backend: datasets are maps of path → bytes,
// files stream in fixed-size pieces so that ranges cross piece boundaries.
type testBackend struct {
	mu       sync.Mutex
	datasets map[cid.Cid]*testDataset
	blocks   map[cid.Cid][]byte
	pins     map[cid.Cid]PinStatus
	jobs     map[string]PublishStatus
	capacity int64 // pins larger than this fail with 507
	opened   atomic.Int64
	closed   atomic.Int64
}

type testDataset struct {
	root  cid.Cid
	files map[string]File // path → file
	dirs  map[string]*Dir // path → listing ("" is the root)
	size  int64
}

func newTestBackend() *testBackend {
	return &testBackend{
		datasets: map[cid.Cid]*testDataset{},
		blocks:   map[cid.Cid][]byte{},
		pins:     map[cid.Cid]PinStatus{},
		jobs:     map[string]PublishStatus{},
		capacity: 1 << 40,
	}
}

func sumCID(codec uint64, data []byte) cid.Cid {
	h, err := mh.Sum(data, mh.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	return cid.NewCidV1(codec, h)
}

// addDataset adds a dataset of files (path → bytes) whose files stream in
// pieces of piece bytes, and returns its root CID.
func (b *testBackend) addDataset(files map[string][]byte, piece int) cid.Cid {
	ds := &testDataset{files: map[string]File{}, dirs: map[string]*Dir{}}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	id := sha256.New()
	for _, p := range paths {
		f := &memFile{c: sumCID(cid.Raw, files[p]), data: files[p], piece: piece, b: b}
		ds.files[p] = f
		ds.size += int64(len(files[p]))
		fmt.Fprintf(id, "%s\x00%s\x00", p, f.c)
		ds.addEntry(p, DirEntry{Name: path.Base(p), Type: TypeFile, Size: int64(len(files[p])), CID: CID(f.c)})
	}
	ds.root = sumCID(cid.DagProtobuf, id.Sum(nil))
	for p, d := range ds.dirs {
		d.CID = CID(sumCID(cid.DagProtobuf, []byte(ds.root.String()+"/"+p)))
	}
	ds.dirs[""].CID = CID(ds.root)
	b.mu.Lock()
	b.datasets[ds.root] = ds
	b.mu.Unlock()
	return ds.root
}

// file returns the dataset file at p.
func (b *testBackend) file(root cid.Cid, p string) *memFile {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.datasets[root].files[p].(*memFile)
}

// addEntry records e in its parent directory, creating the parents.
func (ds *testDataset) addEntry(p string, e DirEntry) {
	parent := path.Dir(p)
	if parent == "." {
		parent = ""
	}
	d := ds.dirs[parent]
	if d == nil {
		d = &Dir{}
		ds.dirs[parent] = d
		if parent != "" {
			ds.addEntry(parent, DirEntry{Name: path.Base(parent), Type: TypeDir})
		}
	}
	d.Entries = append(d.Entries, e)
}

func (b *testBackend) Open(ctx context.Context, root cid.Cid, p string) (Node, error) {
	b.mu.Lock()
	ds := b.datasets[root]
	b.mu.Unlock()
	switch {
	case ds == nil:
		return Node{}, NotFound("dataset %s is not known to this daemon", Canonical(root))
	case p == "panic":
		panic("test backend panics on request")
	case p == "origin-down":
		return Node{}, OriginError(http.StatusBadGateway, "https://origin.example/data", errors.New("connection refused"))
	}
	if f, ok := ds.files[p]; ok {
		b.opened.Add(1)
		return Node{File: f}, nil
	}
	if d, ok := ds.dirs[p]; ok {
		return Node{Dir: d}, nil
	}
	return Node{}, NotFound("no %q in dataset %s", p, Canonical(root))
}

func (b *testBackend) Block(ctx context.Context, c cid.Cid) (File, error) {
	b.mu.Lock()
	data, ok := b.blocks[c]
	b.mu.Unlock()
	if !ok {
		return nil, NotFound("block %s is not in the store", Canonical(c))
	}
	b.opened.Add(1)
	return &memFile{c: c, data: data, piece: 1 << 20, b: b}, nil
}

func (b *testBackend) addBlock(data []byte) cid.Cid {
	c := sumCID(cid.Raw, data)
	b.mu.Lock()
	b.blocks[c] = data
	b.mu.Unlock()
	return c
}

func (b *testBackend) Pin(ctx context.Context, req PinRequest) (PinStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := cid.Cid(req.CID)
	ds := b.datasets[c]
	if ds == nil && req.Origin == "" {
		return PinStatus{}, NotFound("dataset %s is not known and no origin was given", Canonical(c))
	}
	if ds != nil && ds.size > b.capacity {
		return PinStatus{}, InsufficientStorage("pin %s needs %d bytes but the store has %d free", Canonical(c), ds.size, b.capacity)
	}
	if st, ok := b.pins[c]; ok {
		return st, nil
	}
	st := PinStatus{CID: req.CID, Origin: req.Origin, State: PinQueued}
	b.pins[c] = st
	return st, nil
}

func (b *testBackend) setPin(st PinStatus) {
	b.mu.Lock()
	b.pins[cid.Cid(st.CID)] = st
	b.mu.Unlock()
}

func (b *testBackend) Pins(ctx context.Context) ([]PinStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []PinStatus
	for _, st := range b.pins {
		out = append(out, st)
	}
	slices.SortFunc(out, func(x, y PinStatus) int { return strings.Compare(x.CID.String(), y.CID.String()) })
	return out, nil
}

func (b *testBackend) PinStatus(ctx context.Context, c cid.Cid) (PinStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.pins[c]
	if !ok {
		return PinStatus{}, NotFound("%s is not pinned", Canonical(c))
	}
	return st, nil
}

func (b *testBackend) Unpin(ctx context.Context, c cid.Cid) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.pins[c]; !ok {
		return NotFound("%s is not pinned", Canonical(c))
	}
	delete(b.pins, c)
	return nil
}

func (b *testBackend) Publish(ctx context.Context, req PublishRequest) (PublishStatus, error) {
	if strings.Contains(req.Origin, "unreachable") {
		return PublishStatus{}, OriginError(http.StatusServiceUnavailable, req.Origin, errors.New("connection refused"))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	id := fmt.Sprintf("job-%d", len(b.jobs)+1)
	st := PublishStatus{ID: id, Origin: req.Origin, State: PublishQueued, FilesTotal: int64(len(req.Files))}
	b.jobs[id] = st
	return st, nil
}

func (b *testBackend) setJob(st PublishStatus) {
	b.mu.Lock()
	b.jobs[st.ID] = st
	b.mu.Unlock()
}

func (b *testBackend) PublishStatus(ctx context.Context, id string) (PublishStatus, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.jobs[id]
	if !ok {
		return PublishStatus{}, NotFound("no publish job %q", id)
	}
	return st, nil
}

func (b *testBackend) GC(ctx context.Context) (GCResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	res := GCResult{BlocksRemoved: int64(len(b.blocks))}
	for c, data := range b.blocks {
		res.BytesRemoved += int64(len(data))
		delete(b.blocks, c)
	}
	return res, nil
}

func (b *testBackend) Stats(ctx context.Context) (Stats, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := Stats{Version: "test", Store: StoreStats{Blocks: int64(len(b.blocks)), Capacity: b.capacity}}
	st.Pins.Total = len(b.pins)
	st.Origins = []OriginStats{{Origin: "s3://bucket/data", BytesRead: 42, Requests: 1}}
	return st, nil
}

func (b *testBackend) ID(ctx context.Context) (Identity, error) {
	return Identity{}, NotAvailable("the mesh is not running yet")
}

func (b *testBackend) Peers(ctx context.Context) ([]PeerInfo, error) {
	return nil, NotAvailable("the mesh is not running yet")
}

func (b *testBackend) Metrics() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintln(w, "meshcache_test_metric 1")
	})
}

// memFile streams its bytes piece by piece, one Write per piece (or part of
// one), as a file made of blocks does.
type memFile struct {
	c     cid.Cid
	data  []byte
	piece int
	// failErr, when set, is returned once failAt bytes are written.
	failErr error
	failAt  int64
	b       *testBackend
}

func (f *memFile) CID() cid.Cid { return f.c }
func (f *memFile) Size() int64  { return int64(len(f.data)) }
func (f *memFile) Close() error { f.b.closed.Add(1); return nil }

func (f *memFile) WriteRange(ctx context.Context, w io.Writer, off, n int64) (int64, error) {
	var done int64
	for done < n {
		pos := off + done
		end := min((pos/int64(f.piece)+1)*int64(f.piece), off+n)
		if f.failErr != nil && done+end-pos > f.failAt {
			k, _ := w.Write(f.data[pos : pos+f.failAt-done])
			return done + int64(k), f.failErr
		}
		k, err := w.Write(f.data[pos:end])
		done += int64(k)
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// diskFile is a file made of pieces on disk, each sent with
// io.Copy(w, io.NewSectionReader(piece, …)) — the shape the daemon's
// block-file reads take, which reaches sendfile.
type diskFile struct {
	c      cid.Cid
	pieces []*os.File
	piece  int64
	size   int64
}

// newDiskFile writes data to dir in files of piece bytes.
func newDiskFile(t testing.TB, dir string, data []byte, piece int64) *diskFile {
	t.Helper()
	f := &diskFile{c: sumCID(cid.Raw, data), piece: piece, size: int64(len(data))}
	for i := int64(0); i < int64(len(data)); i += piece {
		name := fmt.Sprintf("%s/piece-%06d", dir, i/piece)
		if err := os.WriteFile(name, data[i:min(i+piece, int64(len(data)))], 0o644); err != nil {
			t.Fatal(err)
		}
		pf, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pf.Close() })
		f.pieces = append(f.pieces, pf)
	}
	return f
}

func (f *diskFile) CID() cid.Cid { return f.c }
func (f *diskFile) Size() int64  { return f.size }
func (f *diskFile) Close() error { return nil }

func (f *diskFile) WriteRange(ctx context.Context, w io.Writer, off, n int64) (int64, error) {
	var done int64
	for done < n {
		pos := off + done
		i := pos / f.piece
		in := pos - i*f.piece
		k := min(f.piece-in, n-done)
		m, err := io.Copy(w, io.NewSectionReader(f.pieces[i], in, k))
		done += m
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// fileBackend serves one File at every path of every root (benchmarks and
// the sendfile tests).
type fileBackend struct {
	*testBackend
	file File
}

func (b *fileBackend) Open(ctx context.Context, root cid.Cid, p string) (Node, error) {
	return Node{File: b.file}, nil
}
