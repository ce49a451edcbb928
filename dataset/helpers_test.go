package dataset

import (
	"bytes"
	"context"
	"io"
	"testing"

	bstore "github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-cid"
	"github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	format "github.com/ipfs/go-ipld-format"

	"github.com/meshcache/meshcache/origin"
)

// newMemStore is boxo's in-memory block store (the real stores of
// blockstore/ plug in the same way).
func newMemStore() bstore.Blockstore {
	return bstore.NewBlockstore(dssync.MutexWrap(datastore.NewMapDatastore()))
}

// storeKeys lists the CIDs a store holds.
func storeKeys(t testing.TB, bs bstore.Blockstore) map[cid.Cid]struct{} {
	t.Helper()
	ch, err := bs.AllKeysChan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[cid.Cid]struct{})
	for c := range ch {
		// The map datastore keys by multihash: compare by hash.
		out[cid.NewCidV1(cid.Raw, c.Hash())] = struct{}{}
	}
	return out
}

// assertStoreHolds checks the store holds exactly the given blocks.
func assertStoreHolds(t testing.TB, bs bstore.Blockstore, want []cid.Cid) {
	t.Helper()
	got := storeKeys(t, bs)
	if len(got) != len(want) {
		t.Fatalf("store holds %d blocks, want %d", len(got), len(want))
	}
	for _, c := range want {
		if _, ok := got[cid.NewCidV1(cid.Raw, c.Hash())]; !ok {
			t.Fatalf("store lacks %s", c)
		}
	}
}

// readThroughIndex reads a file back leaf by leaf through the index and the
// store, checking the leaves tile the file.
func readThroughIndex(t testing.TB, ix *Index, bs bstore.Blockstore, path string) []byte {
	t.Helper()
	e, err := ix.Lookup(path)
	if err != nil {
		t.Fatal(err)
	}
	if e.IsDir {
		t.Fatalf("%q is a directory", path)
	}
	leaves, err := ix.Leaves(e.FirstLeaf, e.FirstLeaf+e.NumLeaves)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for k, l := range leaves {
		if l.FileNo != e.FileNo || l.Offset != int64(buf.Len()) || l.Offset != int64(k)*ChunkSize {
			t.Fatalf("%q leaf %d: %+v, want file %d offset %d", path, k, l, e.FileNo, buf.Len())
		}
		b, err := bs.Get(context.Background(), l.CID)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b.RawData())) != l.Size {
			t.Fatalf("%q leaf %d holds %d bytes, index says %d", path, k, len(b.RawData()), l.Size)
		}
		buf.Write(b.RawData())
	}
	if int64(buf.Len()) != e.Size {
		t.Fatalf("%q: read %d bytes, entry says %d", path, buf.Len(), e.Size)
	}
	return buf.Bytes()
}

// ipldDAG is the DAG service boxo's readers need.
type ipldDAG = format.DAGService

type originFileInfo = origin.FileInfo

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
