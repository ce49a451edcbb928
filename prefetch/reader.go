package prefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"golang.org/x/sync/singleflight"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/dataset"
)

// fileOpener is a store that can hand out a verified block's file, so a read
// streams from the page cache without copying the block into the heap.
type fileOpener interface {
	OpenFile(ctx context.Context, c cid.Cid) (*os.File, int64, error)
}

// aheadVerifier is a store that hashes a held block on its first read
// since start (blockstore/disk) and can do so ahead of the read.
type aheadVerifier interface {
	Unverified(c cid.Cid) bool
	Verify(ctx context.Context, c cid.Cid) error
}

// readThrough fetches blocks that reads need and the node lacks, once per
// block however many readers want it, and reads ahead of sequential readers.
type readThrough struct {
	m      *Manager
	flight singleflight.Group
	ahead  chan struct{} // bounds read-ahead fetches in flight
	wg     sync.WaitGroup

	mu        sync.Mutex
	closed    bool
	next      map[fileKey]int64 // leaf a sequential reader of the file will want next
	verifying map[fileKey]bool  // files whose blocks are being hashed ahead
}

type fileKey struct {
	root cid.Cid
	file int
}

func newReadThrough(m *Manager) *readThrough {
	return &readThrough{m: m, ahead: make(chan struct{}, m.cfg.ReadAhead), next: map[fileKey]int64{}, verifying: map[fileKey]bool{}}
}

// wait stops new read-ahead and waits for the fetches in flight.
func (r *readThrough) wait() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}

// goAhead runs fn as a read-ahead fetch unless the manager is stopping.
func (r *readThrough) goAhead(fn func(ctx context.Context)) bool {
	ctx := r.m.runContext()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || ctx == nil {
		return false
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn(ctx)
	}()
	return true
}

// File is an open file of a dataset.
type File struct {
	m      *Manager
	idx    *dataset.Index
	entry  dataset.Entry
	origin string
}

// Open opens path in dataset root. The dataset must be known to the node
// (published or pinned here, or learned from an origin before).
func (m *Manager) Open(ctx context.Context, root cid.Cid, path string) (*File, dataset.Entry, error) {
	idx, originURL, err := m.index(ctx, root)
	if err != nil {
		return nil, dataset.Entry{}, err
	}
	e, err := idx.Lookup(path)
	if err != nil {
		return nil, dataset.Entry{}, err
	}
	if e.IsDir {
		return nil, e, nil
	}
	return &File{m: m, idx: idx, entry: e, origin: originURL}, e, nil
}

// ReadDir lists a directory of dataset root.
func (m *Manager) ReadDir(ctx context.Context, root cid.Cid, path string) ([]dataset.DirEntry, error) {
	idx, _, err := m.index(ctx, root)
	if err != nil {
		return nil, err
	}
	return idx.ReadDir(path)
}

// index finds a known dataset's index and the origin reads should use.
func (m *Manager) index(ctx context.Context, root cid.Cid) (*dataset.Index, string, error) {
	originURL := ""
	m.mu.Lock()
	if j := m.jobs[root]; j != nil {
		originURL = j.rec.Origin
	}
	m.mu.Unlock()
	idx, err := m.catalog.Index(ctx, root, originURL)
	if err != nil {
		return nil, "", err
	}
	if originURL == "" {
		originURL = m.catalog.ReadOrigin(idx.Record())
	}
	return idx, originURL, nil
}

// Size is the file's size in bytes.
func (f *File) Size() int64 { return f.entry.Size }

// Entry describes the file.
func (f *File) Entry() dataset.Entry { return f.entry }

// WriteRange writes bytes [off, off+n) of the file to w, fetching blocks the
// node lacks.
func (f *File) WriteRange(ctx context.Context, w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 || off+n > f.entry.Size {
		return 0, fmt.Errorf("range %d+%d outside file of %d bytes", off, n, f.entry.Size)
	}
	var written int64
	leaf := f.entry.FirstLeaf + off/dataset.ChunkSize
	end := f.entry.FirstLeaf + f.entry.NumLeaves
	for written < n && leaf < end {
		wt, err := want(f.idx, leaf)
		if err != nil {
			return written, err
		}
		pos := off + written
		if pos < wt.Offset || pos >= wt.Offset+wt.Size {
			return written, fmt.Errorf("leaf %d of %s covers %d+%d, not offset %d: index inconsistent", leaf, f.entry.Path, wt.Offset, wt.Size, pos)
		}
		lo := pos - wt.Offset
		hi := min(wt.Size, lo+(n-written))
		k, err := f.m.reads.writeLeaf(ctx, w, f, wt, lo, hi)
		written += k
		if err != nil {
			return written, err
		}
		f.m.reads.readAhead(f, leaf)
		leaf++
	}
	return written, nil
}

// writeLeaf writes bytes [lo, hi) of one block to w, fetching it first when
// the store lacks it or finds it corrupt.
func (r *readThrough) writeLeaf(ctx context.Context, w io.Writer, f *File, wt Want, lo, hi int64) (int64, error) {
	for attempt := 0; ; attempt++ {
		n, err := r.writeLocal(ctx, w, wt.CID, lo, hi)
		if err == nil || n > 0 || attempt > 0 || !(errors.Is(err, blockstore.ErrNotFound) || errors.Is(err, blockstore.ErrCorrupt)) {
			return n, err
		}
		if err := r.fetch(ctx, f.idx, f.origin, wt); err != nil {
			return 0, err
		}
	}
}

func (r *readThrough) writeLocal(ctx context.Context, w io.Writer, c cid.Cid, lo, hi int64) (int64, error) {
	if fo, ok := r.m.cfg.Store.(fileOpener); ok {
		fd, _, err := fo.OpenFile(ctx, c)
		if err != nil {
			return 0, err
		}
		defer fd.Close()
		return io.Copy(w, io.NewSectionReader(fd, lo, hi-lo))
	}
	b, err := r.m.cfg.Store.Get(ctx, c)
	if err != nil {
		return 0, err
	}
	k, err := w.Write(b.RawData()[lo:hi])
	return int64(k), err
}

// fetch obtains one block of the dataset idx (read through originURL) via
// the source chain, once however many readers (and repairs) ask at the
// same time. A block that another fetch stored meanwhile is not fetched
// again.
func (r *readThrough) fetch(ctx context.Context, idx *dataset.Index, originURL string, wt Want) error {
	_, err, _ := r.flight.Do(wt.CID.KeyString(), func() (any, error) {
		if has, err := r.m.cfg.Store.Has(ctx, wt.CID); err == nil && has {
			return nil, nil
		}
		chain, err := r.m.chain(ctx, idx, originURL)
		if err != nil {
			return nil, err
		}
		return nil, chain.Fetch(ctx, []Want{wt}, func(_ Want, b blocks.Block) error {
			return r.m.cfg.Store.Put(ctx, b)
		}, r.m.count)
	})
	return err
}

// verifyAhead hashes every other held, not yet verified block of f in
// [from, end), in order, in one goroutine per file, when the store hashes
// a block on its first read since start. The reader hashes the blocks in
// between itself meanwhile, so two cores hash (taking every block here
// would keep this goroutine one block ahead and the reader waiting on
// it); a block the reader reaches while it is being hashed here is waited
// for, not hashed twice (the store's claim).
func (r *readThrough) verifyAhead(f *File, key fileKey, from, end int64) {
	v, ok := r.m.cfg.Store.(aheadVerifier)
	if !ok {
		return
	}
	// Once the blocks are verified (every read but the first after a
	// start) this finds nothing, and the read pays a few index lookups.
	var todo []cid.Cid
	for l := from; l < end; l += 2 {
		wt, err := want(f.idx, l)
		if err != nil {
			break
		}
		if v.Unverified(wt.CID) {
			todo = append(todo, wt.CID)
		}
	}
	if len(todo) == 0 {
		return
	}
	r.mu.Lock()
	busy := r.verifying[key]
	r.verifying[key] = true
	r.mu.Unlock()
	if busy {
		return
	}
	done := func() {
		r.mu.Lock()
		delete(r.verifying, key)
		r.mu.Unlock()
	}
	started := r.goAhead(func(ctx context.Context) {
		defer done()
		for _, c := range todo {
			if ctx.Err() != nil {
				return
			}
			if err := v.Verify(ctx, c); err != nil && ctx.Err() == nil {
				r.m.log.Debug("verify ahead", "cid", c, "err", err)
			}
		}
	})
	if !started {
		done()
	}
}

// readAhead fetches the blocks after leaf in the background when the file is
// being read sequentially, so the reader rarely waits for the origin.
func (r *readThrough) readAhead(f *File, leaf int64) {
	key := fileKey{root: f.idx.Record().Root, file: f.entry.FileNo}
	r.mu.Lock()
	sequential := r.next[key] == leaf
	r.next[key] = leaf + 1
	r.mu.Unlock()
	if !sequential {
		return
	}
	end := min(leaf+1+int64(r.m.cfg.ReadAhead), f.entry.FirstLeaf+f.entry.NumLeaves)
	r.verifyAhead(f, key, leaf+2, end)
	for next := leaf + 1; next < end; next++ {
		wt, err := want(f.idx, next)
		if err != nil {
			return
		}
		if has, _ := r.m.cfg.Store.Has(context.Background(), wt.CID); has {
			continue
		}
		select {
		case r.ahead <- struct{}{}:
		default:
			return // enough in flight already
		}
		started := r.goAhead(func(ctx context.Context) {
			defer func() { <-r.ahead }()
			if err := r.fetch(ctx, f.idx, f.origin, wt); err != nil && ctx.Err() == nil {
				r.m.log.Debug("read-ahead failed", "cid", wt.CID, "err", err)
			}
		})
		if !started {
			<-r.ahead
			return
		}
	}
}
