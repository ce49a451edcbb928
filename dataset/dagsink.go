package dataset

import (
	"context"
	"errors"
	"fmt"

	dag "github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	ipld "github.com/ipfs/go-ipld-format"
)

// nodeBuilder is the cid.Builder boxo's file importer gets. File nodes are
// built with the profile's dag-pb prefix; asking it for the raw codec (as
// boxo does for every leaf) yields leafBuilder.
type nodeBuilder struct{ imp *importer }

func (b nodeBuilder) Sum(data []byte) (cid.Cid, error) { return dagPBPrefix.Sum(data) }
func (b nodeBuilder) GetCodec() uint64                 { return cid.DagProtobuf }
func (b nodeBuilder) WithCodec(c uint64) cid.Builder {
	if c == cid.Raw {
		return leafBuilder(b)
	}
	return dagPBPrefix.WithCodec(c)
}

// leafBuilder returns a leaf's precomputed CID instead of hashing it again
// in the importer's goroutine; it hashes only what it does not recognise
// (the empty leaf of an empty file).
type leafBuilder struct{ imp *importer }

func (b leafBuilder) Sum(data []byte) (cid.Cid, error) {
	if c, ok := b.imp.precomputed(data); ok {
		return c, nil
	}
	if len(data) > 0 {
		b.imp.fallbackSums++
	}
	return rawPrefix.Sum(data)
}
func (b leafBuilder) GetCodec() uint64 { return cid.Raw }
func (b leafBuilder) WithCodec(c uint64) cid.Builder {
	if c == cid.Raw {
		return b
	}
	return dagPBPrefix.WithCodec(c)
}

// dagSink is the ipld.DAGService boxo's importer and directories write to.
type dagSink struct{ imp *importer }

var _ ipld.DAGService = dagSink{}

func (s dagSink) Add(_ context.Context, nd ipld.Node) error { return s.imp.add(nd) }

func (s dagSink) AddMany(ctx context.Context, nds []ipld.Node) error {
	for _, nd := range nds {
		if err := s.Add(ctx, nd); err != nil {
			return err
		}
	}
	return nil
}

// Get serves HAMT shards boxo reads back while editing a directory.
func (s dagSink) Get(ctx context.Context, c cid.Cid) (ipld.Node, error) {
	if data, ok := s.imp.meta.mem[c]; ok {
		return decodeNode(c, data)
	}
	if err := s.imp.flush(); err != nil {
		return nil, err
	}
	b, err := s.imp.store.Get(ctx, c)
	if err != nil {
		return nil, err
	}
	return decodeNode(c, b.RawData())
}

func (s dagSink) GetMany(ctx context.Context, cids []cid.Cid) <-chan *ipld.NodeOption {
	out := make(chan *ipld.NodeOption, len(cids))
	for _, c := range cids {
		nd, err := s.Get(ctx, c)
		out <- &ipld.NodeOption{Node: nd, Err: err}
	}
	close(out)
	return out
}

var errImmutable = errors.New("publish never removes blocks")

func (dagSink) Remove(context.Context, cid.Cid) error       { return errImmutable }
func (dagSink) RemoveMany(context.Context, []cid.Cid) error { return errImmutable }

// decodeNode decodes a raw or dag-pb block.
func decodeNode(c cid.Cid, data []byte) (ipld.Node, error) {
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		return nil, err
	}
	switch c.Type() {
	case cid.Raw:
		return dag.DecodeRawBlock(b)
	case cid.DagProtobuf:
		return dag.DecodeProtobufBlock(b)
	default:
		return nil, fmt.Errorf("block %s: codec %#x is neither raw nor dag-pb", c, c.Type())
	}
}

// metaBlocks records the dataset's non-leaf blocks in the order they were
// made, keeping their bytes in memory up to a limit for the CAR file.
type metaBlocks struct {
	list     []cid.Cid
	sizes    []int
	seen     map[cid.Cid]struct{}
	mem      map[cid.Cid][]byte
	memBytes int64
	memLimit int64
}

func newMetaBlocks(limit int64) *metaBlocks {
	return &metaBlocks{seen: make(map[cid.Cid]struct{}), mem: make(map[cid.Cid][]byte), memLimit: limit}
}

// add records b and reports whether it is new.
func (m *metaBlocks) add(b blocks.Block) bool {
	c := b.Cid()
	if _, dup := m.seen[c]; dup {
		return false
	}
	m.seen[c] = struct{}{}
	m.list = append(m.list, c)
	data := b.RawData()
	m.sizes = append(m.sizes, len(data))
	if m.memBytes+int64(len(data)) <= m.memLimit {
		m.mem[c] = data
		m.memBytes += int64(len(data))
	}
	return true
}

func (m *metaBlocks) cids() []cid.Cid { return append([]cid.Cid(nil), m.list...) }

// get returns a metadata block's bytes from memory or from the store.
func (m *metaBlocks) get(ctx context.Context, store BlockStore, c cid.Cid) ([]byte, error) {
	if data, ok := m.mem[c]; ok {
		return data, nil
	}
	b, err := store.Get(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("read metadata block %s back from the store: %w", c, err)
	}
	return b.RawData(), nil
}
