package prefetch

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/origin"
)

// Source names used in progress and statistics.
const (
	SourceLocal = "local"
	SourcePeer  = "peer"
	// SourceRemotePeer is a peer in another region: counted as a peer and
	// as cross-region bytes.
	SourceRemotePeer = "remote-peer"
	SourceOrigin     = "origin"
)

// ErrIntegrity: a source delivered bytes that do not hash to the wanted CID.
// Nothing was stored.
var ErrIntegrity = errors.New("integrity error: bytes do not match CID")

// Want is one leaf block a pin or a read needs, with its place at the origin.
type Want struct {
	// Leaf is the block's position in the dataset's fixed leaf order.
	Leaf int64
	CID  cid.Cid
	// File is the file the block belongs to, as recorded at publish time
	// (path relative to the origin prefix, and version).
	File origin.FileInfo
	// Offset is the block's offset within File.
	Offset int64
	Size   int64
}

// GotFunc receives a verified block. It may be called concurrently. An error
// from it (the store could not keep the block) aborts the fetch.
type GotFunc func(w Want, b blocks.Block) error

// Source fetches blocks the node does not hold. A source fetches what it can
// and reports the rest through its error; the chain asks the next source for
// whatever is still missing.
type Source interface {
	// Name is SourcePeer or SourceOrigin.
	Name() string
	// Fetch hands every block of want it obtains, verified, to got.
	Fetch(ctx context.Context, want []Want, got GotFunc) error
}

// Chain asks its sources in order (peers, then the origin) for the blocks not
// yet obtained, and counts bytes by source.
type Chain struct {
	sources []Source
	counts  map[string]*atomic.Int64
}

// NewChain returns a chain over sources, tried in the order given.
func NewChain(sources ...Source) *Chain {
	c := &Chain{sources: sources, counts: map[string]*atomic.Int64{}}
	for _, s := range sources {
		c.counts[s.Name()] = new(atomic.Int64)
	}
	return c
}

// Fetch obtains every block of want from the first source that has it. It
// returns the last source's error for blocks no source could provide.
// byName, when not nil, is told how many bytes each source delivered.
func (c *Chain) Fetch(ctx context.Context, want []Want, got GotFunc, bySource func(name string, n int64)) error {
	remaining := want
	var lastErr error
	for _, s := range c.sources {
		if len(remaining) == 0 {
			return nil
		}
		done := newLeafSet(remaining)
		name := s.Name()
		var keepErr atomic.Pointer[error]
		err := s.Fetch(ctx, remaining, func(w Want, b blocks.Block) error {
			if err := got(w, b); err != nil {
				keepErr.CompareAndSwap(nil, &err)
				return err
			}
			done.mark(w.Leaf)
			c.counts[name].Add(int64(len(b.RawData())))
			if bySource != nil {
				bySource(name, int64(len(b.RawData())))
			}
			return nil
		})
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if kerr := keepErr.Load(); kerr != nil {
			// The store cannot keep blocks: asking the next source would
			// fetch them for nothing.
			return fmt.Errorf("keep blocks from %s: %w", name, *kerr)
		}
		remaining = done.missing(remaining)
		if err != nil {
			lastErr = fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(remaining) == 0 {
		return nil
	}
	if lastErr == nil {
		lastErr = errors.New("no source holds them")
	}
	return fmt.Errorf("fetch %d blocks (first %s): %w", len(remaining), remaining[0].CID, lastErr)
}

// Bytes reports the bytes each source delivered through this chain.
func (c *Chain) Bytes() map[string]int64 {
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v.Load()
	}
	return out
}

// verify checks data against c, so that no source can make a node keep or
// serve bytes that are not the block. The block it returns is marked
// verified, so the store does not hash it a second time.
func verify(c cid.Cid, data []byte) (blocks.Block, error) {
	b, err := blockstore.Verified(c, data)
	if errors.Is(err, blockstore.ErrHashMismatch) {
		sum, _ := c.Prefix().Sum(data)
		return nil, fmt.Errorf("block %s: got %s: %w", c, sum, ErrIntegrity)
	}
	return b, err
}
