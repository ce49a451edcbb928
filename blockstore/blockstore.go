// Package blockstore defines meshcache's local content-addressed block store:
// the contract every implementation meets (Store), its errors and its
// statistics. The on-disk store lives in blockstore/disk, an in-memory one in
// blockstore/mem, and blockstore/storetest is the conformance suite both pass.
//
// Pins are roots (dataset CIDs), never per-block counters: what is pinned is
// what the pinned roots reach through the dag-pb blocks held locally, and
// garbage collection is mark-and-sweep from those roots.
package blockstore

import (
	"context"
	"errors"

	bstore "github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
)

// Sentinel errors callers branch on. Implementations wrap them with context.
var (
	// ErrNotFound is format.ErrNotFound so that boxo's DAG code, which tests
	// with format.IsNotFound, and meshcache's code, which tests with
	// errors.Is(err, blockstore.ErrNotFound), agree.
	ErrNotFound error = format.ErrNotFound{}
	// ErrCorrupt: the stored bytes do not hash to the block's CID. The block
	// has been quarantined and must be fetched again.
	ErrCorrupt = errors.New("block corrupt")
	// ErrHashMismatch: bytes offered to Put do not match their CID.
	ErrHashMismatch = errors.New("block bytes do not match CID")
	// ErrNoSpace: the store (or the disk under it) cannot hold the block.
	ErrNoSpace = errors.New("no space left for block")
	// ErrPinTooLarge: a pin does not fit beside the other pins within capacity.
	ErrPinTooLarge = errors.New("pin does not fit in the store's capacity beside the other pins")
	// ErrTooLarge: a block exceeds MaxBlockSize.
	ErrTooLarge = errors.New("block too large")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("block store closed")
)

// MaxBlockSize is the largest block a store accepts (boxo refuses over 2 MiB).
const MaxBlockSize = 2 << 20

// Store is a local block store. It satisfies boxo's Blockstore so that boxo's
// DAG service and UnixFS reader can use it directly. Get verifies a block the
// first time it is served after each start (and on every read when
// configured); a block that fails verification is quarantined, counted, and
// Get returns an error wrapping ErrCorrupt and ErrNotFound-free (so callers
// refetch). Put verifies the bytes against the CID before anything is visible
// and returns only once the block is durable.
type Store interface {
	bstore.Blockstore

	// Pin records root as pinned and reserves size bytes of capacity for it
	// (the dataset's total size). It fails with ErrPinTooLarge, before
	// anything is fetched, when size does not fit beside the other pins.
	// Pinning an already pinned root updates its size. Blocks reachable from
	// root (through locally held dag-pb blocks, including ones that arrive
	// later) are never evicted.
	Pin(ctx context.Context, root cid.Cid, size int64) error
	// Unpin removes a pinned root; its blocks become evictable unless another
	// pinned root reaches them.
	Unpin(ctx context.Context, root cid.Cid) error
	// Pins lists the pinned roots.
	Pins(ctx context.Context) ([]Pin, error)
	// GC marks every block reachable from the pinned roots and deletes every
	// other block.
	GC(ctx context.Context) (GCResult, error)
	// Stat reports usage and counters.
	Stat(ctx context.Context) (Stats, error)
	// Close releases resources; pending writes are either durable or absent.
	Close() error
}

// Pin is a pinned root and the capacity reserved for it.
type Pin struct {
	Root cid.Cid
	Size int64
}

// GCResult says what a garbage collection removed.
type GCResult struct {
	BlocksRemoved int64
	BytesRemoved  int64
}

// Stats are a store's usage and counters since start.
type Stats struct {
	Blocks        int64 // blocks held
	Bytes         int64 // bytes held
	Capacity      int64 // configured capacity in bytes (0: unlimited)
	PinnedBytes   int64 // capacity reserved by pins
	Corrupt       int64 // blocks found corrupt and quarantined since start
	Evicted       int64 // blocks evicted since start
	EvictedBytes  int64
	VerifiedReads int64 // reads that re-hashed the block
}
