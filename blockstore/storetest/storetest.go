// Package storetest is the conformance suite every blockstore.Store
// implementation passes: the disk store and the memory store run the same
// table of subtests.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/multiformats/go-multihash"
)

// NewStore returns a fresh empty store of capacity bytes (0: unlimited).
// It registers its own cleanup; Close may also be called by the suite.
type NewStore func(t *testing.T, capacity int64) blockstore.Store

// Run runs the conformance suite against the stores newStore makes.
func Run(t *testing.T, newStore func(t *testing.T, capacity int64) blockstore.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore NewStore)
	}{
		{"PutGetHasSizeDelete", testBasic},
		{"NotFound", testNotFound},
		{"HashMismatch", testHashMismatch},
		{"TooLarge", testTooLarge},
		{"PutMany", testPutMany},
		{"KeyedByMultihash", testKeyedByMultihash},
		{"AllKeysChan", testAllKeys},
		{"PinsAndGC", testPinsAndGC},
		{"PinBeforeBlocksArrive", testPinBeforeBlocks},
		{"PinTooLarge", testPinTooLarge},
		{"UnpinUnknown", testUnpinUnknown},
		{"EvictionKeepsPinned", testEvictionKeepsPinned},
		{"FullOfPinned", testFullOfPinned},
		{"Concurrent", testConcurrent},
		{"ConcurrentSameBlock", testConcurrentSameBlock},
		{"DAGServiceReadBack", testDAGService},
		{"CopiesBlocks", testCopiesBlocks},
		{"Closed", testClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore) })
	}
}

// RandBlock returns a raw CIDv1 sha2-256 block of size bytes drawn from rng,
// so a test that seeds rng gets the same blocks on every run.
func RandBlock(t testing.TB, rng *rand.Rand, size int) blocks.Block {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	return RawBlock(t, data)
}

// RawBlock makes a raw CIDv1 sha2-256 block of data.
func RawBlock(t testing.TB, data []byte) blocks.Block {
	t.Helper()
	mh, err := multihash.Sum(data, multihash.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := blocks.NewBlockWithCid(data, cid.NewCidV1(cid.Raw, mh))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newRNG(t *testing.T) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(len(t.Name())), 42))
}

func mustPut(t *testing.T, s blockstore.Store, bs ...blocks.Block) {
	t.Helper()
	for _, b := range bs {
		if err := s.Put(context.Background(), b); err != nil {
			t.Fatalf("put %s: %v", b.Cid(), err)
		}
	}
}

func mustHave(t *testing.T, s blockstore.Store, want bool, bs ...blocks.Block) {
	t.Helper()
	for _, b := range bs {
		has, err := s.Has(context.Background(), b.Cid())
		if err != nil {
			t.Fatalf("has %s: %v", b.Cid(), err)
		}
		if has != want {
			t.Fatalf("has %s = %v, want %v", b.Cid(), has, want)
		}
	}
}

func mustGet(t *testing.T, s blockstore.Store, b blocks.Block) {
	t.Helper()
	got, err := s.Get(context.Background(), b.Cid())
	if err != nil {
		t.Fatalf("get %s: %v", b.Cid(), err)
	}
	if !bytes.Equal(got.RawData(), b.RawData()) || !got.Cid().Equals(b.Cid()) {
		t.Fatalf("get %s: wrong block back", b.Cid())
	}
}

func stats(t *testing.T, s blockstore.Store) blockstore.Stats {
	t.Helper()
	st, err := s.Stat(context.Background())
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	return st
}

// isNotFound checks both ways callers test for a missing block, and that
// it is not mistaken for corruption.
func isNotFound(err error) bool {
	return errors.Is(err, blockstore.ErrNotFound) && format.IsNotFound(err) && !errors.Is(err, blockstore.ErrCorrupt)
}
