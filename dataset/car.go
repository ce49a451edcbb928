package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"

	dag "github.com/ipfs/boxo/ipld/merkledag"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
	mh "github.com/multiformats/go-multihash"
	"github.com/multiformats/go-varint"
	"golang.org/x/sync/errgroup"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/origin"
)

// maxCARHeader bounds the CARv1 header ReadCAR accepts: one root needs
// about 60 bytes.
const maxCARHeader = 4 << 10

// writeCAR writes the CARv1 file of a dataset to the origin: the root in the
// header, the metadata blocks children first, and the record block last, so
// that a file cut short anywhere lacks its record and is refused whole.
// It streams, so its size is computed beforehand for WriteFile.
func writeCAR(ctx context.Context, w origin.Writer, rec *Record, meta *metaBlocks, store BlockStore) error {
	recBlk, err := EncodeRecord(rec)
	if err != nil {
		return err
	}
	size, err := carHeaderSize(rec.Root)
	if err != nil {
		return err
	}
	for i, c := range meta.list {
		size += sectionSize(c, meta.sizes[i])
	}
	size += sectionSize(recBlk.Cid(), len(recBlk.RawData()))

	pr, pw := io.Pipe()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := streamCAR(gctx, pw, rec.Root, meta, store, recBlk, size)
		pw.CloseWithError(err)
		return err
	})
	werr := w.WriteFile(ctx, CARPath(rec.Root), pr, size)
	// Unblock the writer if WriteFile stopped reading early.
	pr.CloseWithError(errors.New("CAR file not taken in full"))
	if gerr := g.Wait(); gerr != nil && werr == nil {
		werr = gerr
	}
	return werr
}

func streamCAR(ctx context.Context, out io.Writer, root cid.Cid, meta *metaBlocks, store BlockStore, recBlk blocks.Block, size int64) error {
	cw := &countingWriter{w: out}
	wc, err := storage.NewWritable(cw, []cid.Cid{root}, car.WriteAsCarV1(true))
	if err != nil {
		return err
	}
	for _, c := range meta.list {
		data, err := meta.get(ctx, store, c)
		if err != nil {
			return err
		}
		if err := wc.Put(ctx, c.KeyString(), data); err != nil {
			return err
		}
	}
	if err := wc.Put(ctx, recBlk.Cid().KeyString(), recBlk.RawData()); err != nil {
		return err
	}
	if cw.n != size {
		return fmt.Errorf("wrote %d bytes of CAR, computed %d", cw.n, size)
	}
	return nil
}

func carHeaderSize(root cid.Cid) (int64, error) {
	var cw countingWriter
	if _, err := storage.NewWritable(&cw, []cid.Cid{root}, car.WriteAsCarV1(true)); err != nil {
		return 0, err
	}
	return cw.n, nil
}

func sectionSize(c cid.Cid, dataLen int) int64 {
	n := uint64(c.ByteLen() + dataLen)
	return int64(varint.UvarintSize(n)) + int64(n)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.w == nil {
		c.n += int64(len(p))
		return len(p), nil
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// ReadCAR reads a dataset's CARv1 file: it checks that the header names
// exactly root, that every block matches its CID (CIDv1, sha2-256), that the
// blocks are dag-pb nodes plus exactly one dag-json record of root, and that
// every dag-pb link points at a block of the file or at a raw leaf. It
// returns the record and the dag-pb blocks. Every failure wraps ErrBadCAR.
func ReadCAR(r io.Reader, root cid.Cid) (*Record, []blocks.Block, error) {
	rec, blks, err := readCAR(r, root)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrBadCAR, err)
	}
	return rec, blks, nil
}

func readCAR(r io.Reader, root cid.Cid) (*Record, []blocks.Block, error) {
	br, err := car.NewBlockReader(r, car.MaxAllowedHeaderSize(maxCARHeader))
	if err != nil {
		return nil, nil, fmt.Errorf("header: %w", err)
	}
	if br.Version != 1 {
		return nil, nil, fmt.Errorf("CAR version %d, want 1", br.Version)
	}
	if len(br.Roots) != 1 || !br.Roots[0].Equals(root) {
		return nil, nil, fmt.Errorf("header roots %v, want [%s]", br.Roots, root)
	}
	var rec *Record
	var blks []blocks.Block
	have := make(map[cid.Cid]struct{})
	for {
		b, err := nextCARBlock(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if b.Cid().Type() == cid.DagJSON {
			if rec != nil {
				return nil, nil, errors.New("more than one record block")
			}
			if rec, err = DecodeRecord(b.RawData()); err != nil {
				return nil, nil, err
			}
			if !rec.Root.Equals(root) {
				return nil, nil, fmt.Errorf("record is of %s, want %s", rec.Root, root)
			}
			continue
		}
		if _, dup := have[b.Cid()]; !dup {
			have[b.Cid()] = struct{}{}
			blks = append(blks, b)
		}
	}
	if rec == nil {
		return nil, nil, errors.New("no record block (file truncated?)")
	}
	if err := checkComplete(root, blks, have); err != nil {
		return nil, nil, err
	}
	return rec, blks, nil
}

// nextCARBlock reads one section, bounding its size by its codec before
// reading it, and verifies its hash.
func nextCARBlock(br *car.BlockReader) (blocks.Block, error) {
	c, rd, n, err := br.NextReader()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("section: %w", err)
	}
	pre := c.Prefix()
	if pre.Version != 1 || pre.MhType != mh.SHA2_256 {
		return nil, fmt.Errorf("block %s: not a CIDv1 with sha2-256", c)
	}
	var limit uint64
	switch pre.Codec {
	case cid.DagProtobuf:
		limit = blockstore.MaxBlockSize
	case cid.DagJSON:
		limit = MaxRecordSize
	default:
		return nil, fmt.Errorf("block %s: codec %#x is neither dag-pb nor dag-json", c, pre.Codec)
	}
	if n > limit {
		return nil, fmt.Errorf("block %s: %d bytes exceed %d", c, n, limit)
	}
	// ReadAll grows with the bytes that arrive, so a lying length cannot
	// make it allocate the whole limit up front.
	data, err := io.ReadAll(io.LimitReader(rd, int64(n)))
	if err != nil {
		return nil, fmt.Errorf("block %s: %w", c, err)
	}
	if uint64(len(data)) != n {
		return nil, fmt.Errorf("block %s: %d of %d bytes (truncated)", c, len(data), n)
	}
	got, err := pre.Sum(data)
	if err != nil || !got.Equals(c) {
		return nil, fmt.Errorf("block %s: bytes do not match the CID", c)
	}
	return blocks.NewBlockWithCid(data, c)
}

// checkComplete checks that the dag-pb blocks hold the root (unless the root
// is a raw leaf) and every dag-pb node any of them links to.
func checkComplete(root cid.Cid, blks []blocks.Block, have map[cid.Cid]struct{}) error {
	if root.Type() == cid.DagProtobuf {
		if _, ok := have[root]; !ok {
			return fmt.Errorf("root block %s missing", root)
		}
	} else if root.Type() != cid.Raw {
		return fmt.Errorf("root %s is neither raw nor dag-pb", root)
	}
	for _, b := range blks {
		nd, err := dag.DecodeProtobufBlock(b)
		if err != nil {
			return fmt.Errorf("block %s: %w", b.Cid(), err)
		}
		for _, l := range nd.Links() {
			if l.Cid.Type() == cid.Raw {
				continue
			}
			if _, ok := have[l.Cid]; !ok {
				return fmt.Errorf("block %s links to %s, which is missing", b.Cid(), l.Cid)
			}
		}
	}
	return nil
}
