package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ipfs/boxo/blockservice"
	"github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/boxo/ipld/merkledag"
	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	blocks "github.com/ipfs/go-block-format"
)

// testConcurrent runs puts, gets, deletes and pins from several goroutines
// over a shared pool (meant for -race), then checks the store agrees with
// itself.
func testConcurrent(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 512<<10)
	rng := newRNG(t)
	var pool []blocks.Block
	for range 64 {
		pool = append(pool, RandBlock(t, rng, 1024+rng.IntN(16<<10)))
	}
	d := buildDAG(t, randBytes(rng, 40<<10), 4096, 4)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 6 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 150 {
				b := pool[r.IntN(len(pool))]
				var err error
				switch r.IntN(5) {
				case 0, 1:
					err = s.Put(ctx, b)
				case 2:
					var got blocks.Block
					got, err = s.Get(ctx, b.Cid())
					if err == nil && !bytes.Equal(got.RawData(), b.RawData()) {
						err = errors.New("get returned wrong bytes")
					}
					if isNotFound(err) {
						err = nil
					}
				case 3:
					_, err = s.Has(ctx, b.Cid())
				case 4:
					err = s.DeleteBlock(ctx, b.Cid())
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Go(func() {
		if err := s.Pin(ctx, d.root, d.size); err != nil {
			errs <- err
			return
		}
		if err := s.PutMany(ctx, d.blocks); err != nil {
			errs <- err
			return
		}
		if _, err := s.GC(ctx); err != nil {
			errs <- err
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustHave(t, s, true, d.blocks...)
	ch, err := s.AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var n, bytesHeld int64
	for c := range ch {
		sz, err := s.GetSize(ctx, c)
		if err != nil {
			t.Fatalf("listed key %s has no size: %v", c, err)
		}
		if _, err := s.Get(ctx, c); err != nil {
			t.Fatalf("listed key %s: %v", c, err)
		}
		n++
		bytesHeld += int64(sz)
	}
	if st := stats(t, s); st.Blocks != n || st.Bytes != bytesHeld {
		t.Fatalf("stats %+v disagree with the %d keys (%d bytes) listed", st, n, bytesHeld)
	}
}

// testConcurrentSameBlock: many writers of one block at once store it once.
func testConcurrentSameBlock(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 0)
	b := RandBlock(t, newRNG(t), 256<<10)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			if err := s.Put(ctx, b); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustGet(t, s, b)
	if st := stats(t, s); st.Blocks != 1 || st.Bytes != int64(len(b.RawData())) {
		t.Fatalf("stats %+v, want one block", st)
	}
}

// testDAGService: boxo's DAG service and UnixFS reader work on the store.
func testDAGService(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 0)
	dserv := merkledag.NewDAGService(blockservice.New(s, offline.Exchange(s)))
	data := randBytes(newRNG(t), 300<<10+123)
	root := importFile(t, dserv, data, 16<<10, 8)
	// A fresh service, so nothing is served from the importer's memory.
	dserv = merkledag.NewDAGService(blockservice.New(s, offline.Exchange(s)))
	node, err := dserv.Get(ctx, root.Cid())
	if err != nil {
		t.Fatalf("get root: %v", err)
	}
	r, err := uio.NewDagReader(ctx, node, dserv)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read file back: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("file read back differs: %d bytes, want %d", len(got), len(data))
	}
}
