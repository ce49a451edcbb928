package dataset

import (
	"context"
	"fmt"
	"io"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"golang.org/x/sync/semaphore"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/origin"
)

// chunk is one leaf's bytes on their way to the importer. done is closed
// once cid (or err) is set.
type chunk struct {
	file   int
	data   []byte
	weight int64
	cid    cid.Cid
	// block is data as a block marked verified, so the store does not hash
	// it a second time.
	block blocks.Block
	err   error
	done  chan struct{}
}

// smallRead asks a reader to fill c with the whole of file.
type smallRead struct {
	file origin.FileInfo
	c    *chunk
}

// pipeline reads the files in order and hashes their chunks ahead of the
// importer. Every chunk takes its weight from window before it is read and
// gives it back once the importer has stored (or dropped) the leaf, so the
// bytes in flight stay bounded. Chunks take the window in the order the
// importer consumes them, so the oldest chunk can always proceed.
type pipeline struct {
	o       origin.Origin
	files   []origin.FileInfo
	window  *semaphore.Weighted
	hashQ   chan *chunk
	smallQ  chan smallRead
	ordered chan *chunk
	// free holds read buffers for reuse, when the leaves' bytes are not
	// kept once stored (nil otherwise).
	free chan []byte
}

// buffer returns a buffer of size bytes. Only full chunks are pooled: a
// pooled buffer is 1 MiB whatever it holds, so pooling small files' buffers
// would let memory outgrow the window, which counts their bytes.
func (p *pipeline) buffer(size int64) []byte {
	if p.free != nil && size == ChunkSize {
		select {
		case b := <-p.free:
			return b[:size]
		default:
		}
	}
	return make([]byte, size)
}

// release gives a chunk's window weight, and its buffer when reusable, back.
func (p *pipeline) release(c *chunk) {
	p.window.Release(c.weight)
	if p.free != nil && cap(c.data) == ChunkSize {
		select {
		case p.free <- c.data[:0]:
		default:
		}
	}
}

// sequence walks the files in order, owning hashQ and smallQ.
func (p *pipeline) sequence(ctx context.Context) error {
	defer close(p.hashQ)
	defer close(p.smallQ)
	for i, f := range p.files {
		var err error
		switch {
		case f.Size == 0:
			// An empty file is one empty raw leaf; the importer makes it.
		case f.Size <= ChunkSize:
			err = p.dispatchSmall(ctx, i, f)
		default:
			err = p.stream(ctx, i, f)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *pipeline) newChunk(ctx context.Context, file int, size int64) (*chunk, error) {
	w := size + chunkOverhead
	if err := p.window.Acquire(ctx, w); err != nil {
		return nil, err
	}
	c := &chunk{file: file, weight: w, data: p.buffer(size), done: make(chan struct{})}
	select {
	case p.ordered <- c:
		return c, nil
	case <-ctx.Done():
		p.window.Release(w)
		return nil, ctx.Err()
	}
}

func (p *pipeline) dispatchSmall(ctx context.Context, i int, f origin.FileInfo) error {
	c, err := p.newChunk(ctx, i, f.Size)
	if err != nil {
		return err
	}
	select {
	case p.smallQ <- smallRead{file: f, c: c}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stream reads a file of more than one chunk through one ranged read.
func (p *pipeline) stream(ctx context.Context, i int, f origin.FileInfo) error {
	rc, err := p.o.ReadRange(ctx, f.Path, 0, f.Size, f)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	defer rc.Close()
	for off := int64(0); off < f.Size; off += ChunkSize {
		c, err := p.newChunk(ctx, i, min(ChunkSize, f.Size-off))
		if err != nil {
			return err
		}
		if _, err := io.ReadFull(rc, c.data); err != nil {
			return fmt.Errorf("read %s at offset %d: %w", f.Path, off, err)
		}
		select {
		case p.hashQ <- c:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// hash is a hash worker.
func (p *pipeline) hash(ctx context.Context) error {
	for {
		select {
		case c, ok := <-p.hashQ:
			if !ok {
				return nil
			}
			c.hashed()
			close(c.done)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readSmall is a small-file reader: it reads a whole file and hashes it.
func (p *pipeline) readSmall(ctx context.Context) error {
	for {
		select {
		case r, ok := <-p.smallQ:
			if !ok {
				return nil
			}
			if err := readWhole(ctx, p.o, r.file, r.c.data); err != nil {
				return err
			}
			r.c.hashed()
			close(r.c.done)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func readWhole(ctx context.Context, o origin.Origin, f origin.FileInfo, buf []byte) error {
	rc, err := o.ReadRange(ctx, f.Path, 0, f.Size, f)
	if err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, buf); err != nil {
		return fmt.Errorf("read %s: %w", f.Path, err)
	}
	return nil
}

// hashed computes the chunk's CID, once: the same hash marks its block as
// verified for the store.
func (c *chunk) hashed() {
	c.block, c.err = blockstore.Hashed(rawPrefix, c.data)
	if c.err == nil {
		c.cid = c.block.Cid()
	}
}
