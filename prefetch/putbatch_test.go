package prefetch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/blockstore"
)

// countingStore counts PutMany calls and can fail them.
type countingStore struct {
	blockstore.Store
	mu    sync.Mutex
	calls []int
	fail  error
}

func (s *countingStore) PutMany(ctx context.Context, bs []blocks.Block) error {
	s.mu.Lock()
	s.calls = append(s.calls, len(bs))
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return fail
	}
	return s.Store.PutMany(ctx, bs)
}

func testBlocks(t *testing.T, n, size int) []blocks.Block {
	t.Helper()
	out := make([]blocks.Block, n)
	for i := range out {
		data := make([]byte, size)
		copy(data, fmt.Sprintf("block %d", i))
		b, err := blockstore.Hashed(cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}, data)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// TestPutBatch: blocks are stored in batches of at most putBatchBlocks or
// putBatchBytes, each reported done only once stored; a store that fails
// fails the delivery and reports none of the batch.
func TestPutBatch(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		n, size   int
		wantCalls []int
	}{
		{"by count", 2*putBatchBlocks + 3, 1000, []int{putBatchBlocks, putBatchBlocks, 3}},
		{"by bytes", 10, 1 << 20, []int{8, 2}},
		{"exact", putBatchBlocks, 10, []int{putBatchBlocks}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &countingStore{Store: memStore(t)}
			var done []int64
			pb := newPutBatch(store, func(w Want, _ blocks.Block) { done = append(done, w.Leaf) })
			for i, b := range testBlocks(t, tc.n, tc.size) {
				if err := pb.add(ctx, Want{Leaf: int64(i), CID: b.Cid()}, b); err != nil {
					t.Fatal(err)
				}
			}
			if err := pb.flush(ctx); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(store.calls) != fmt.Sprint(tc.wantCalls) || len(done) != tc.n {
				t.Fatalf("PutMany calls %v, done %d; want %v and %d", store.calls, len(done), tc.wantCalls, tc.n)
			}
			for i, l := range done {
				if l != int64(i) {
					t.Fatalf("done out of order: %v", done)
				}
			}
		})
	}
	t.Run("store fails", func(t *testing.T) {
		store := &countingStore{Store: memStore(t), fail: blockstore.ErrNoSpace}
		var done int
		pb := newPutBatch(store, func(Want, blocks.Block) { done++ })
		var err error
		for i, b := range testBlocks(t, putBatchBlocks, 100) {
			if err = pb.add(ctx, Want{Leaf: int64(i)}, b); err != nil {
				break
			}
		}
		if !errors.Is(err, blockstore.ErrNoSpace) || done != 0 {
			t.Fatalf("err %v, %d reported done; want ErrNoSpace and none", err, done)
		}
	})
}
