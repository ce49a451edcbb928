package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"

	"github.com/meshcache/meshcache/origin"
)

// importer drives boxo's balanced layout and UnixFS directories over the
// chunks the pipeline delivers, in order, in one goroutine. boxo builds
// every node, so CIDs are exactly boxo's; the only shortcut is that a raw
// leaf's CID comes precomputed from the hash workers (leafBuilder).
type importer struct {
	ctx     context.Context
	p       *pipeline
	store   BlockStore
	noStore bool

	// inFlight are the chunks handed to boxo whose leaves it has not added
	// yet, oldest first.
	inFlight []*chunk
	batch    []blocks.Block
	// batchChunks are the chunks of the batch's leaves, released once the
	// batch is stored.
	batchChunks []*chunk
	// batchBytes and batchWeight are the batch's bytes and the window
	// weight it holds.
	batchBytes, batchWeight, batchLimit int64

	meta *metaBlocks
	root cid.Cid
	// linking is the file node being linked into a directory.
	linking cid.Cid

	filesDone, filesTotal int
	bytesDone, bytesTotal int64
	leaves                int64
	// fallbackSums counts leaves hashed by the importer itself because no
	// precomputed CID matched; tests check it stays zero.
	fallbackSums int
	progress     func(Progress)
	lastReport   time.Time
}

func newImporter(ctx context.Context, p *pipeline, opts PublishOptions, total int64, nfiles int) *importer {
	return &importer{
		ctx: ctx, p: p, store: opts.Store, noStore: opts.NoStore,
		batchLimit: opts.BatchBytes, meta: newMetaBlocks(opts.metaMemLimit),
		filesTotal: nfiles, bytesTotal: total, progress: opts.Progress,
	}
}

// run imports the files, sorted by path, and sets imp.root.
func (imp *importer) run(files []origin.FileInfo) error {
	var root ipld.Node
	var err error
	if len(files) == 1 && files[0].Path == "" {
		root, err = imp.importFile(0, files[0])
	} else {
		root, err = imp.importTree(files)
	}
	if err != nil {
		return err
	}
	if err := imp.flush(); err != nil {
		return err
	}
	imp.root = root.Cid()
	imp.report(true)
	return nil
}

// openDir is a directory being filled; stack[i] holds the i-th component
// of the current file's directory.
type openDir struct {
	name string
	dir  uio.Directory
}

// importTree builds directories bottom-up. Files sorted by path visit each
// directory's files contiguously, so a directory is complete (and can be
// encoded and linked into its parent) as soon as a file outside it comes.
func (imp *importer) importTree(files []origin.FileInfo) (ipld.Node, error) {
	rootDir, err := imp.newDir()
	if err != nil {
		return nil, err
	}
	stack := []openDir{{dir: rootDir}}
	var cur []string
	for i, f := range files {
		dirs := dirComponents(parentDir(f.Path))
		keep := commonDirDepth(cur, dirs)
		for len(stack)-1 > keep {
			if stack, err = imp.closeDir(stack); err != nil {
				return nil, err
			}
		}
		for _, name := range dirs[keep:] {
			d, err := imp.newDir()
			if err != nil {
				return nil, err
			}
			stack = append(stack, openDir{name: name, dir: d})
		}
		cur = dirs
		nd, err := imp.importFile(i, f)
		if err != nil {
			return nil, err
		}
		// A HAMT adds the child to the DAG service again (Shard.Swap).
		imp.linking = nd.Cid()
		err = stack[len(stack)-1].dir.AddChild(imp.ctx, baseName(f.Path), nd)
		imp.linking = cid.Undef
		if err != nil {
			return nil, fmt.Errorf("add %s to its directory: %w", f.Path, err)
		}
	}
	for len(stack) > 1 {
		if stack, err = imp.closeDir(stack); err != nil {
			return nil, err
		}
	}
	return imp.dirNode(rootDir)
}

// newDir makes a directory with the profile's settings passed explicitly,
// so the result does not depend on boxo's globals.
func (imp *importer) newDir() (uio.Directory, error) {
	d, err := uio.NewDirectory(dagSink{imp},
		uio.WithCidBuilder(dagPBPrefix),
		uio.WithMaxHAMTFanout(hamtShardWidth),
		uio.WithSizeEstimationMode(uio.SizeEstimationBlock))
	if err != nil {
		return nil, fmt.Errorf("new directory: %w", err)
	}
	d.SetHAMTShardingSize(hamtShardingSize)
	return d, nil
}

// closeDir encodes the innermost directory and links it into its parent.
func (imp *importer) closeDir(stack []openDir) ([]openDir, error) {
	top := stack[len(stack)-1]
	nd, err := imp.dirNode(top.dir)
	if err != nil {
		return nil, err
	}
	stack = stack[:len(stack)-1]
	if err := stack[len(stack)-1].dir.AddChild(imp.ctx, top.name, nd); err != nil {
		return nil, fmt.Errorf("add directory %s: %w", top.name, err)
	}
	return stack, nil
}

func (imp *importer) dirNode(d uio.Directory) (ipld.Node, error) {
	nd, err := d.GetNode()
	if err != nil {
		return nil, fmt.Errorf("encode directory: %w", err)
	}
	// A HAMT adds its shards itself; a basic directory does not.
	if err := imp.add(nd); err != nil {
		return nil, err
	}
	return nd, nil
}

// importFile runs boxo's balanced layout (Kubo's default) over one file.
func (imp *importer) importFile(i int, f origin.FileInfo) (ipld.Node, error) {
	spl := &fileSplitter{imp: imp, file: i, remaining: (f.Size + ChunkSize - 1) / ChunkSize}
	params := helpers.DagBuilderParams{
		Maxlinks:   fileDAGWidth,
		RawLeaves:  true,
		CidBuilder: nodeBuilder{imp},
		Dagserv:    dagSink{imp},
	}
	db, err := params.New(spl)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", f.Path, err)
	}
	nd, err := balanced.Layout(db)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", f.Path, err)
	}
	if spl.remaining != 0 || len(imp.inFlight) != 0 {
		return nil, fmt.Errorf("import %s: %d chunks unread, %d not added (importer out of step)", f.Path, spl.remaining, len(imp.inFlight))
	}
	imp.filesDone++
	imp.report(false)
	return nd, nil
}

// next waits for the next chunk in order.
func (imp *importer) next(file int) (*chunk, error) {
	var c *chunk
	select {
	case c = <-imp.p.ordered:
	case <-imp.ctx.Done():
		return nil, imp.ctx.Err()
	}
	select {
	case <-c.done:
	case <-imp.ctx.Done():
		return nil, imp.ctx.Err()
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.file != file {
		return nil, fmt.Errorf("chunk of file %d delivered while importing file %d", c.file, file)
	}
	return c, nil
}

// fileSplitter is the chunker.Splitter boxo pulls one file's chunks from.
type fileSplitter struct {
	imp       *importer
	file      int
	remaining int64
}

func (s *fileSplitter) Reader() io.Reader { return nil }

func (s *fileSplitter) NextBytes() ([]byte, error) {
	if s.remaining == 0 {
		return nil, io.EOF
	}
	c, err := s.imp.next(s.file)
	if err != nil {
		return nil, err
	}
	s.remaining--
	s.imp.inFlight = append(s.imp.inFlight, c)
	return c.data, nil
}

// precomputed returns the hash workers' CID for data when data is the
// buffer of a chunk boxo holds (matched by identity, not content).
func (imp *importer) precomputed(data []byte) (cid.Cid, bool) {
	if len(data) == 0 {
		return cid.Undef, false
	}
	for _, c := range imp.inFlight {
		if len(c.data) == len(data) && &c.data[0] == &data[0] {
			return c.cid, true
		}
	}
	return cid.Undef, false
}

// add receives every node boxo makes, in order: leaves as they are linked,
// file and directory nodes once encoded.
func (imp *importer) add(nd ipld.Node) error {
	switch nd.Cid().Type() {
	case cid.Raw:
		return imp.addLeaf(nd)
	case cid.DagProtobuf:
		if imp.meta.add(nd) {
			imp.queue(nd, nil)
		}
		return imp.maybeFlush()
	default:
		return fmt.Errorf("importer made a block of codec %#x", nd.Cid().Type())
	}
}

func (imp *importer) addLeaf(nd ipld.Node) error {
	if imp.linking.Defined() && nd.Cid().Equals(imp.linking) {
		return nil // added already, when it was imported
	}
	data := nd.RawData()
	var c *chunk
	if len(data) > 0 {
		if len(imp.inFlight) == 0 || &imp.inFlight[0].data[0] != &data[0] {
			return errors.New("importer added a leaf out of order")
		}
		c = imp.inFlight[0]
		imp.inFlight[0] = nil
		imp.inFlight = imp.inFlight[1:]
		imp.leaves++
		imp.bytesDone += int64(len(data))
	}
	if imp.noStore {
		// boxo keeps only the leaf's CID and length from here on, so its
		// buffer can be reused.
		if c != nil {
			imp.p.release(c)
		}
		imp.report(false)
		return nil
	}
	var b blocks.Block = nd
	if c != nil && c.block != nil && c.block.Cid().Equals(nd.Cid()) {
		b = c.block
	}
	imp.queue(b, c)
	return imp.maybeFlush()
}

func (imp *importer) queue(b blocks.Block, c *chunk) {
	imp.batch = append(imp.batch, b)
	imp.batchBytes += int64(len(b.RawData()))
	if c != nil {
		imp.batchChunks = append(imp.batchChunks, c)
		imp.batchWeight += c.weight
	}
}

func (imp *importer) maybeFlush() error {
	// Counting the weight (bytes plus overhead per chunk) keeps what the
	// batch holds of the window below batchLimit, as Validate assumes.
	if imp.batchBytes < imp.batchLimit && imp.batchWeight < imp.batchLimit && len(imp.batch) < maxBatchBlocks {
		return nil
	}
	return imp.flush()
}

// flush writes the batch with one PutMany and gives its window back.
func (imp *importer) flush() error {
	if len(imp.batch) == 0 {
		return nil
	}
	if err := imp.store.PutMany(imp.ctx, imp.batch); err != nil {
		return fmt.Errorf("store %d blocks: %w", len(imp.batch), err)
	}
	clear(imp.batch)
	imp.batch = imp.batch[:0]
	for i, c := range imp.batchChunks {
		imp.p.release(c)
		imp.batchChunks[i] = nil
	}
	imp.batchChunks = imp.batchChunks[:0]
	imp.batchBytes, imp.batchWeight = 0, 0
	imp.report(false)
	return nil
}

func (imp *importer) report(final bool) {
	if imp.progress == nil {
		return
	}
	now := time.Now()
	if !final && now.Sub(imp.lastReport) < progressEvery {
		return
	}
	imp.lastReport = now
	imp.progress(Progress{Files: imp.filesDone, FilesTotal: imp.filesTotal, Bytes: imp.bytesDone, BytesTotal: imp.bytesTotal})
}
