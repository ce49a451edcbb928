package prefetch

import (
	"context"
	"fmt"
	"sync"

	blocks "github.com/ipfs/go-block-format"

	"github.com/meshcache/meshcache/blockstore"
)

// Limits of a putBatch: a fetch worker holds at most this much before it
// stores. Small enough that the workers of a pin together stay well under
// a hundred MiB; large enough that a disk store makes a batch durable with
// two file-system syncs instead of two fsyncs per block (blockstore/disk's
// group sync), which is what a pin of many small files waits for.
const (
	putBatchBlocks = 16
	putBatchBytes  = 8 << 20
)

// putBatch gathers one worker's fetched blocks and stores them with one
// PutMany when it is full and at the end of each fetch. done runs for
// each block once it is stored (progress, waiting peers, availability).
// Sources may deliver concurrently, so it locks; a delivery that fills it
// waits for the store, which is the back-pressure a slow disk should put
// on the network.
type putBatch struct {
	store blockstore.Store
	done  func(Want, blocks.Block)

	mu    sync.Mutex
	wants []Want
	blks  []blocks.Block
	bytes int
}

func newPutBatch(store blockstore.Store, done func(Want, blocks.Block)) *putBatch {
	return &putBatch{store: store, done: done}
}

// add is a GotFunc.
func (p *putBatch) add(ctx context.Context, w Want, b blocks.Block) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wants = append(p.wants, w)
	p.blks = append(p.blks, b)
	p.bytes += len(b.RawData())
	if len(p.blks) >= putBatchBlocks || p.bytes >= putBatchBytes {
		return p.flushLocked(ctx)
	}
	return nil
}

// flush stores what is gathered.
func (p *putBatch) flush(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.flushLocked(ctx)
}

func (p *putBatch) flushLocked(ctx context.Context) error {
	if len(p.blks) == 0 {
		return nil
	}
	wants, blks := p.wants, p.blks
	p.wants, p.blks, p.bytes = nil, nil, 0
	var err error
	if len(blks) == 1 {
		err = p.store.Put(ctx, blks[0])
	} else {
		err = p.store.PutMany(ctx, blks)
	}
	if err != nil {
		return fmt.Errorf("store %d blocks: %w", len(blks), err)
	}
	for i, b := range blks {
		p.done(wants[i], b)
	}
	return nil
}
