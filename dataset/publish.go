package dataset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/meshcache/meshcache/origin"
)

// BlockStore is the part of a block store that Publish uses: blockstore.Store
// and boxo's Blockstore satisfy it.
type BlockStore interface {
	PutMany(ctx context.Context, blks []blocks.Block) error
	Get(ctx context.Context, c cid.Cid) (blocks.Block, error)
}

// CopyingStore is an optional capability of a BlockStore: CopiesBlocks
// reports that PutMany keeps no reference to the blocks' bytes once it
// returns (a disk store writes them to files). Publish then reuses its
// 1 MiB read buffers instead of allocating fresh ones, which costs as much
// as hashing where fresh memory is slow to fault in.
type CopyingStore interface {
	CopiesBlocks() bool
}

// PublishOptions configure Publish. The zero value of every field but Store
// picks a default.
type PublishOptions struct {
	// Store receives the blocks (required).
	Store BlockStore
	// NoStore stores only the non-leaf (metadata) blocks, for datasets
	// larger than the local disk: the leaves stay at the origin.
	NoStore bool
	// NoCAR skips writing the CAR file even when the origin is writable.
	NoCAR bool
	// Workers hash leaves in parallel (default: GOMAXPROCS).
	Workers int
	// Readers read files of at most one block concurrently, which hides
	// the origin's latency on many small files (default 4). Larger files
	// are streamed one at a time, in order.
	Readers int
	// Window bounds the bytes read ahead of the importer (default 64 MiB).
	Window int64
	// BatchBytes is about how many bytes of blocks go to Store in one
	// PutMany, so a durable store can commit them as a group (default
	// 32 MiB, at most half the window). Window must be at least
	// BatchBytes + 2 × (1 MiB + 4 KiB).
	BatchBytes int64
	// Progress, when set, is called from the import goroutine at most
	// every 100 ms and once at the end. It must return quickly.
	Progress func(Progress)
	// Logger receives start and finish lines (default: discard).
	Logger *slog.Logger

	// metaMemLimit bounds the metadata blocks kept in memory for the CAR
	// file; beyond it they are read back from Store. Tests lower it.
	metaMemLimit int64
}

// Progress is how far a publish has got.
type Progress struct {
	Files, FilesTotal int
	Bytes, BytesTotal int64
}

// PublishResult describes a published dataset.
type PublishResult struct {
	Root   cid.Cid
	Record *Record
	// BytesRead is what was read from the origin (the dataset's size).
	BytesRead int64
	// Leaves is the number of leaves (non-empty 1 MiB chunks) imported.
	Leaves int64
	// MetadataBlocks are the dataset's non-leaf blocks, children before
	// parents, the root last (none when the root is a single raw leaf).
	MetadataBlocks []cid.Cid
	// CARPath is where the CAR file was written under the origin's prefix,
	// "" when none was written.
	CARPath  string
	Duration time.Duration
}

const (
	defaultReaders = 4
	defaultWindow  = 64 << 20
	// defaultBatchBytes: the disk store makes a batch durable with two
	// syncfs calls whatever its size, so larger batches cost fewer flushes
	// (BenchmarkPublishDisk, five comparisons on a loaded machine: 32 MiB
	// published 0.99–1.5× as fast as 16 MiB, median 1.2×);
	// half the default window leaves the other half for reading ahead.
	defaultBatchBytes = 32 << 20
	// maxBatchBlocks flushes batches of many tiny blocks early.
	maxBatchBlocks = 1024
	// chunkOverhead is what a chunk costs beyond its bytes when counted
	// against the window, so tiny files cannot pile up without bound.
	chunkOverhead = 4 << 10
	// defaultMetaMemLimit: ~42 KiB of metadata per GiB of data, so this
	// keeps the metadata of datasets up to about 1.5 TiB in memory.
	defaultMetaMemLimit = 64 << 20
	progressEvery       = 100 * time.Millisecond
)

func (o PublishOptions) withDefaults() PublishOptions {
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Readers == 0 {
		o.Readers = defaultReaders
	}
	if o.Window == 0 {
		o.Window = defaultWindow
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = min(defaultBatchBytes, o.Window/2)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("component", "publish")
	if o.metaMemLimit == 0 {
		o.metaMemLimit = defaultMetaMemLimit
	}
	return o
}

// Validate says which field is wrong.
func (o PublishOptions) Validate() error {
	switch {
	case o.Store == nil:
		return errors.New("publish options: Store is required")
	case o.Workers < 0:
		return fmt.Errorf("publish options: Workers %d < 0", o.Workers)
	case o.Readers < 0:
		return fmt.Errorf("publish options: Readers %d < 0", o.Readers)
	case o.BatchBytes < 0:
		return fmt.Errorf("publish options: BatchBytes %d < 0", o.BatchBytes)
	case o.Window < 0:
		return fmt.Errorf("publish options: Window %d < 0", o.Window)
	}
	d := o.withDefaults()
	// While it waits for a chunk, the importer holds less than a batch and
	// one chunk boxo has not linked yet (boxo reads one chunk ahead), so the
	// window must leave room for one more chunk or the pipeline deadlocks.
	if need := minWindow(d.BatchBytes); d.Window < need {
		return fmt.Errorf("publish options: Window %d must be at least BatchBytes + 2 × (1 MiB + 4 KiB) = %d", d.Window, need)
	}
	return nil
}

func minWindow(batchBytes int64) int64 { return batchBytes + 2*(ChunkSize+chunkOverhead) }

// Publish reads every file under o's prefix once and imports it as a UnixFS
// DAG with the unixfs-v1-2025 profile, putting the blocks into opts.Store.
// Leaves are hashed in parallel ahead of boxo's importer, which still
// builds every node, so the root is the CID any implementation of the
// profile gives the same files. When o is an origin.Writer (and NoCAR is
// unset) it writes the metadata blocks and the record as a CAR file at
// CARPath(root); failing to do so fails the publish.
func Publish(ctx context.Context, o origin.Origin, opts PublishOptions) (*PublishResult, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	ApplyProfile()
	start := time.Now()
	files, total, err := publishListing(ctx, o, opts.Logger)
	if err != nil {
		return nil, err
	}
	opts.Logger.Info("publishing", "origin", o.URL(), "files", len(files), "bytes", total, "workers", opts.Workers, "no_store", opts.NoStore)
	imp, err := runImport(ctx, o, files, total, opts)
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", o.URL(), err)
	}
	res := &PublishResult{
		Root:           imp.root,
		Record:         &Record{Root: imp.root, Origin: o.URL(), Profile: Profile, Files: files, Size: total},
		BytesRead:      imp.bytesDone,
		Leaves:         imp.leaves,
		MetadataBlocks: imp.meta.cids(),
	}
	if w, ok := o.(origin.Writer); ok && !opts.NoCAR {
		err := writeCAR(ctx, w, res.Record, imp.meta, opts.Store)
		switch {
		case errors.Is(err, origin.ErrNotWritable):
			// The origin type can write but not this location (a single
			// file, say): the metadata can still be rebuilt by importing
			// again.
			opts.Logger.Warn("origin not writable; no CAR file written", "origin", o.URL(), "err", err)
		case err != nil:
			return nil, fmt.Errorf("publish %s: write metadata CAR file %s: %w", o.URL(), CARPath(res.Root), err)
		default:
			res.CARPath = CARPath(res.Root)
		}
	}
	res.Duration = time.Since(start)
	opts.Logger.Info("published", "origin", o.URL(), "root", res.Root, "bytes", total, "leaves", res.Leaves,
		"metadata_blocks", len(res.MetadataBlocks), "car", res.CARPath, "seconds", res.Duration.Seconds(),
		"mb_per_s", float64(total)/1e6/max(res.Duration.Seconds(), 1e-9))
	return res, nil
}

// publishListing lists the origin and checks the listing. .meshcache/ holds
// the CAR files of earlier publishes: importing them would change the root
// with every publish, so it is dropped even if an origin lists it.
func publishListing(ctx context.Context, o origin.Origin, log *slog.Logger) ([]origin.FileInfo, int64, error) {
	listed, err := o.List(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("publish %s: list: %w", o.URL(), err)
	}
	files := make([]origin.FileInfo, 0, len(listed))
	for _, f := range listed {
		if f.Path == ".meshcache" || strings.HasPrefix(f.Path, ".meshcache/") {
			log.Warn("origin listed its .meshcache folder; leaving it out", "origin", o.URL(), "path", f.Path)
			continue
		}
		f.ModTime = f.ModTime.UTC()
		files = append(files, f)
	}
	total, err := checkFiles(files)
	if err != nil {
		return nil, 0, fmt.Errorf("publish %s: listing: %w", o.URL(), err)
	}
	return files, total, nil
}

// runImport runs the pipeline: a sequencer reads chunks in order, hash
// workers and small-file readers compute leaf CIDs ahead, and the importer
// (boxo's balanced layout and directories) consumes them in order.
func runImport(ctx context.Context, o origin.Origin, files []origin.FileInfo, total int64, opts PublishOptions) (*importer, error) {
	g, gctx := errgroup.WithContext(ctx)
	p := &pipeline{
		o:       o,
		files:   files,
		window:  semaphore.NewWeighted(opts.Window),
		hashQ:   make(chan *chunk, opts.Workers),
		smallQ:  make(chan smallRead, opts.Readers),
		ordered: make(chan *chunk, 1024),
	}
	if cs, ok := opts.Store.(CopyingStore); opts.NoStore || ok && cs.CopiesBlocks() {
		p.free = make(chan []byte, opts.Window/(ChunkSize+chunkOverhead)+1)
	}
	imp := newImporter(gctx, p, opts, total, len(files))
	g.Go(func() error { return p.sequence(gctx) })
	for range opts.Workers {
		g.Go(func() error { return p.hash(gctx) })
	}
	for range opts.Readers {
		g.Go(func() error { return p.readSmall(gctx) })
	}
	g.Go(func() error { return imp.run(files) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return imp, nil
}
