package storetest

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/ipfs/boxo/blockservice"
	bstore "github.com/ipfs/boxo/blockstore"
	chunker "github.com/ipfs/boxo/chunker"
	"github.com/ipfs/boxo/exchange/offline"
	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/boxo/ipld/unixfs/importer/balanced"
	"github.com/ipfs/boxo/ipld/unixfs/importer/helpers"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ds "github.com/ipfs/go-datastore"
	dssync "github.com/ipfs/go-datastore/sync"
	format "github.com/ipfs/go-ipld-format"
	"github.com/multiformats/go-multihash"
)

// dag is a UnixFS file built with boxo's importer: raw leaves, dag-pb
// internal nodes, few links per node so that even a small file has several
// levels.
type dag struct {
	root   cid.Cid
	blocks []blocks.Block // in the order the importer wrote them: leaves first, root last
	size   int64          // bytes of all blocks
}

// recorder is a DAG service that remembers every node added to it.
type recorder struct {
	format.DAGService
	added []blocks.Block
}

func (r *recorder) Add(ctx context.Context, n format.Node) error {
	r.added = append(r.added, n)
	return r.DAGService.Add(ctx, n)
}

func (r *recorder) AddMany(ctx context.Context, ns []format.Node) error {
	for _, n := range ns {
		r.added = append(r.added, n)
	}
	return r.DAGService.AddMany(ctx, ns)
}

// scratchDAGService is a DAG service over boxo's in-memory blockstore, so
// DAGs for the tests are built without the store under test.
func scratchDAGService() format.DAGService {
	bs := bstore.NewBlockstore(dssync.MutexWrap(ds.NewMapDatastore()))
	return merkledag.NewDAGService(blockservice.New(bs, offline.Exchange(bs)))
}

// importFile builds a UnixFS file of data with chunk-byte leaves and at
// most maxLinks links per node into dserv.
func importFile(t *testing.T, dserv format.DAGService, data []byte, chunk int64, maxLinks int) format.Node {
	t.Helper()
	params := helpers.DagBuilderParams{
		Dagserv: dserv, Maxlinks: maxLinks, RawLeaves: true,
		CidBuilder: cid.V1Builder{Codec: cid.DagProtobuf, MhType: multihash.SHA2_256},
	}
	db, err := params.New(chunker.NewSizeSplitter(bytes.NewReader(data), chunk))
	if err != nil {
		t.Fatal(err)
	}
	n, err := balanced.Layout(db)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return n
}

// buildDAG imports data into a scratch service and returns its blocks.
func buildDAG(t *testing.T, data []byte, chunk int64, maxLinks int) dag {
	t.Helper()
	rec := &recorder{DAGService: scratchDAGService()}
	root := importFile(t, rec, data, chunk, maxLinks)
	d := dag{root: root.Cid()}
	seen := map[string]bool{}
	for _, b := range rec.added {
		if k := b.Cid().KeyString(); !seen[k] {
			seen[k] = true
			d.blocks = append(d.blocks, b)
			d.size += int64(len(b.RawData()))
		}
	}
	if len(d.blocks) < 3 || !d.blocks[len(d.blocks)-1].Cid().Equals(d.root) {
		t.Fatalf("importer gave %d blocks, root last: want a multi-level DAG", len(d.blocks))
	}
	return d
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
