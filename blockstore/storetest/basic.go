package storetest

import (
	"context"
	"errors"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
)

func testBasic(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 0)
	rng := newRNG(t)
	bs := []blocks.Block{RandBlock(t, rng, 1), RandBlock(t, rng, 1000), RandBlock(t, rng, 1<<20), RawBlock(t, nil)}
	mustHave(t, s, false, bs...)
	mustPut(t, s, bs...)
	mustPut(t, s, bs[1]) // again: no error, no double count
	mustHave(t, s, true, bs...)
	var total int64
	for _, b := range bs {
		mustGet(t, s, b)
		n, err := s.GetSize(ctx, b.Cid())
		if err != nil || n != len(b.RawData()) {
			t.Fatalf("getsize %s = %d, %v; want %d", b.Cid(), n, err, len(b.RawData()))
		}
		total += int64(len(b.RawData()))
	}
	if st := stats(t, s); st.Blocks != int64(len(bs)) || st.Bytes != total {
		t.Fatalf("stats %+v, want %d blocks, %d bytes", st, len(bs), total)
	}
	if err := s.DeleteBlock(ctx, bs[2].Cid()); err != nil {
		t.Fatalf("delete: %v", err)
	}
	mustHave(t, s, false, bs[2])
	if _, err := s.Get(ctx, bs[2].Cid()); !isNotFound(err) {
		t.Fatalf("get deleted: %v, want not found", err)
	}
	if st := stats(t, s); st.Blocks != int64(len(bs)-1) || st.Bytes != total-int64(len(bs[2].RawData())) {
		t.Fatalf("stats after delete %+v", st)
	}
	mustPut(t, s, bs[2])
	mustGet(t, s, bs[2])
}

func testNotFound(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 0)
	b := RandBlock(t, newRNG(t), 100)
	if _, err := s.Get(ctx, b.Cid()); !isNotFound(err) {
		t.Errorf("get absent: %v, want ErrNotFound matching errors.Is and format.IsNotFound", err)
	}
	if _, err := s.GetSize(ctx, b.Cid()); !isNotFound(err) {
		t.Errorf("getsize absent: %v, want ErrNotFound", err)
	}
	if err := s.DeleteBlock(ctx, b.Cid()); err != nil {
		t.Errorf("delete absent: %v, want nil", err)
	}
}

func testHashMismatch(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 0)
	rng := newRNG(t)
	good, other := RandBlock(t, rng, 500), RandBlock(t, rng, 500)
	bad, err := blocks.NewBlockWithCid(other.RawData(), good.Cid())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, bad); !errors.Is(err, blockstore.ErrHashMismatch) {
		t.Fatalf("put with wrong CID: %v, want ErrHashMismatch", err)
	}
	mustHave(t, s, false, good, other)
	extra := RandBlock(t, rng, 10)
	if err := s.PutMany(ctx, []blocks.Block{extra, bad}); !errors.Is(err, blockstore.ErrHashMismatch) {
		t.Fatalf("putmany with a bad block: %v, want ErrHashMismatch", err)
	}
	mustHave(t, s, false, good, extra)
	if st := stats(t, s); st.Blocks != 0 || st.Bytes != 0 {
		t.Fatalf("refused blocks were counted: %+v", st)
	}
	mustPut(t, s, good)
	mustGet(t, s, good)
}

func testTooLarge(t *testing.T, newStore NewStore) {
	s := newStore(t, 0)
	b := RandBlock(t, newRNG(t), blockstore.MaxBlockSize+1)
	if err := s.Put(context.Background(), b); !errors.Is(err, blockstore.ErrTooLarge) {
		t.Fatalf("put of %d bytes: %v, want ErrTooLarge", len(b.RawData()), err)
	}
	mustHave(t, s, false, b)
}

func testPutMany(t *testing.T, newStore NewStore) {
	s := newStore(t, 0)
	rng := newRNG(t)
	var bs []blocks.Block
	for i := range 40 {
		bs = append(bs, RandBlock(t, rng, 1+i*997))
	}
	mustPut(t, s, bs[3])
	batch := append(append([]blocks.Block{}, bs...), bs[5], bs[7]) // duplicates too
	if err := s.PutMany(context.Background(), batch); err != nil {
		t.Fatalf("putmany: %v", err)
	}
	var total int64
	for _, b := range bs {
		mustGet(t, s, b)
		total += int64(len(b.RawData()))
	}
	if st := stats(t, s); st.Blocks != int64(len(bs)) || st.Bytes != total {
		t.Fatalf("stats %+v, want %d blocks %d bytes", st, len(bs), total)
	}
	if err := s.PutMany(context.Background(), nil); err != nil {
		t.Fatalf("empty putmany: %v", err)
	}
}

// testKeyedByMultihash: CIDs differing only in codec or version name the
// same block, as in boxo's stores.
func testKeyedByMultihash(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 0)
	b := RandBlock(t, newRNG(t), 300)
	asPB := cid.NewCidV1(cid.DagProtobuf, b.Cid().Hash())
	v0 := cid.NewCidV0(b.Cid().Hash())
	mustPut(t, s, b)
	for _, c := range []cid.Cid{asPB, v0} {
		got, err := s.Get(ctx, c)
		if err != nil || string(got.RawData()) != string(b.RawData()) || !got.Cid().Equals(c) {
			t.Fatalf("get %s: %v", c, err)
		}
	}
}

func testAllKeys(t *testing.T, newStore NewStore) {
	s := newStore(t, 0)
	rng := newRNG(t)
	want := map[string]bool{}
	for range 100 {
		b := RandBlock(t, rng, 64)
		mustPut(t, s, b)
		want[string(b.Cid().Hash())] = true
	}
	ch, err := s.AllKeysChan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for c := range ch {
		got[string(c.Hash())] = true
	}
	if len(got) != len(want) {
		t.Fatalf("AllKeysChan gave %d keys, want %d", len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Fatalf("AllKeysChan missed a key")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch, err = s.AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-ch
	cancel()
	n := 0
	for range ch {
		n++
	}
	if n >= len(want) {
		t.Fatalf("AllKeysChan kept sending all keys after cancel")
	}
}

func testClosed(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	s := newStore(t, 0)
	b := RandBlock(t, newRNG(t), 10)
	mustPut(t, s, b)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := s.Put(ctx, RandBlock(t, newRNG(t), 11)); !errors.Is(err, blockstore.ErrClosed) {
		t.Errorf("put after close: %v, want ErrClosed", err)
	}
	if _, err := s.Get(ctx, b.Cid()); !errors.Is(err, blockstore.ErrClosed) {
		t.Errorf("get after close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}

// testCopiesBlocks: a store that says it copies blocks (CopiesBlocks, as
// dataset.CopyingStore asks) keeps no reference to a buffer after PutMany.
func testCopiesBlocks(t *testing.T, newStore NewStore) {
	s := newStore(t, 0)
	cs, ok := s.(interface{ CopiesBlocks() bool })
	if !ok || !cs.CopiesBlocks() {
		return // the capability is optional; nothing to hold the store to
	}
	rng := newRNG(t)
	buf := randBytes(rng, 4096)
	b := RawBlock(t, buf)
	want := string(buf)
	mustPut(t, s, b)
	for i := range buf {
		buf[i] ^= 0xff
	}
	got, err := s.Get(context.Background(), b.Cid())
	if err != nil || string(got.RawData()) != want {
		t.Fatalf("block changed with the caller's buffer: %v", err)
	}
}
