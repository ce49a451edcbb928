package dataset

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// ErrBadIndex: an index file is damaged or does not belong to the root it
// is opened for. Building the index again repairs it.
var ErrBadIndex = errors.New("bad dataset index")

// The index file of a root is <root>.idx:
//
//	header    128 bytes, see indexHeader
//	leaves    numLeaves fixed-width records of leafRecordSize bytes, in the
//	          global leaf order (files by path, leaves by offset):
//	          sha2-256 digest [32] | file number u32 | size u32 | offset u64
//	files     numFiles u64: each file's first leaf
//	fileCIDs  each file's root CID, concatenated, in file order
//	dirCIDs   each directory's CID, concatenated, in the order directories
//	          first appear in the sorted file list (the root first)
//	meta      the metadata (non-leaf) CIDs, concatenated
//	record    the record block (EncodeRecord)
//
// Integers are little-endian. The leaves (48 bytes a MiB of data, too many
// to hold: 10 TB is 10 million) are read with ReadAt; the rest is loaded at
// open and covered by a CRC-32C, as is the header.
const (
	indexMagic     = "MCIDX\x00\x00\x02"
	indexVersion   = 2
	headerSize     = 128
	leafRecordSize = 48
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// indexHeader gives the counts and the lengths of the variable sections;
// offsets follow from them, as the sections are contiguous.
type indexHeader struct {
	numLeaves, numFiles, numDirs uint64
	fileCIDsLen, dirCIDsLen      uint64
	metaLen, recLen              uint64
	tailCRC                      uint32
}

func (h *indexHeader) filesOff() uint64 { return headerSize + h.numLeaves*leafRecordSize }
func (h *indexHeader) tailLen() uint64 {
	return 8*h.numFiles + h.fileCIDsLen + h.dirCIDsLen + h.metaLen + h.recLen
}

func (h *indexHeader) marshal() []byte {
	b := make([]byte, headerSize)
	copy(b, indexMagic)
	le := binary.LittleEndian
	le.PutUint32(b[8:], indexVersion)
	le.PutUint32(b[12:], leafRecordSize)
	for i, v := range []uint64{h.numLeaves, h.numFiles, h.numDirs, h.fileCIDsLen, h.dirCIDsLen, h.metaLen, h.recLen} {
		le.PutUint64(b[16+8*i:], v)
	}
	le.PutUint32(b[72:], h.tailCRC)
	le.PutUint32(b[76:], crc32.Checksum(b[:76], castagnoli))
	return b
}

func unmarshalHeader(b []byte, fileSize int64) (*indexHeader, error) {
	le := binary.LittleEndian
	switch {
	case len(b) < headerSize || string(b[:8]) != indexMagic:
		return nil, errors.New("not an index file of this version")
	case le.Uint32(b[76:]) != crc32.Checksum(b[:76], castagnoli):
		return nil, errors.New("header checksum mismatch")
	case le.Uint32(b[8:]) != indexVersion || le.Uint32(b[12:]) != leafRecordSize:
		return nil, fmt.Errorf("index version %d/%d, want %d/%d", le.Uint32(b[8:]), le.Uint32(b[12:]), indexVersion, leafRecordSize)
	}
	var v [7]uint64
	for i := range v {
		v[i] = le.Uint64(b[16+8*i:])
	}
	h := &indexHeader{numLeaves: v[0], numFiles: v[1], numDirs: v[2], fileCIDsLen: v[3], dirCIDsLen: v[4], metaLen: v[5], recLen: v[6], tailCRC: le.Uint32(b[72:])}
	// The bounds keep the sums below from overflowing; the sections must
	// fill the file exactly.
	const maxCount = 1 << 40
	for _, n := range v {
		if n > maxCount {
			return nil, errors.New("section table out of bounds")
		}
	}
	if h.recLen > MaxRecordSize || int64(h.filesOff()+h.tailLen()) != fileSize {
		return nil, errors.New("section table inconsistent with the file size")
	}
	return h, nil
}

// indexWriter writes an index file front to back, then its header.
type indexWriter struct {
	f   *os.File
	bw  *bufio.Writer
	rec [leafRecordSize]byte
	n   uint64
}

func newIndexWriter(f *os.File) (*indexWriter, error) {
	w := &indexWriter{f: f, bw: bufio.NewWriterSize(f, 1<<20)}
	if _, err := w.bw.Write(make([]byte, headerSize)); err != nil {
		return nil, err
	}
	return w, nil
}

// leaf appends one leaf record.
func (w *indexWriter) leaf(digest []byte, fileNo uint32, size uint32, off uint64) error {
	copy(w.rec[:32], digest)
	binary.LittleEndian.PutUint32(w.rec[32:], fileNo)
	binary.LittleEndian.PutUint32(w.rec[36:], size)
	binary.LittleEndian.PutUint64(w.rec[40:], off)
	w.n++
	_, err := w.bw.Write(w.rec[:])
	return err
}

// indexTail is what follows the leaves.
type indexTail struct {
	firstLeaf []int64
	fileCIDs  []cid.Cid
	dirCIDs   []cid.Cid
	meta      []cid.Cid
	record    []byte
}

// finish writes the tail sections and the header and syncs the file.
func (w *indexWriter) finish(t indexTail) error {
	h := indexHeader{numLeaves: w.n, numFiles: uint64(len(t.firstLeaf)), numDirs: uint64(len(t.dirCIDs))}
	crc := crc32.New(castagnoli)
	out := io.MultiWriter(w.bw, crc)
	var u [8]byte
	for _, fl := range t.firstLeaf {
		binary.LittleEndian.PutUint64(u[:], uint64(fl))
		out.Write(u[:])
	}
	writeCIDs := func(cs []cid.Cid) (n uint64) {
		for _, c := range cs {
			k, _ := out.Write(c.Bytes())
			n += uint64(k)
		}
		return n
	}
	h.fileCIDsLen = writeCIDs(t.fileCIDs)
	h.dirCIDsLen = writeCIDs(t.dirCIDs)
	h.metaLen = writeCIDs(t.meta)
	h.recLen = uint64(len(t.record))
	// bufio's errors stick: the last write or Flush reports them.
	if _, err := out.Write(t.record); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	h.tailCRC = crc.Sum32()
	if _, err := w.f.WriteAt(h.marshal(), 0); err != nil {
		return err
	}
	return w.f.Sync()
}

// parseCIDs splits concatenated CIDs; want < 0 accepts any count.
func parseCIDs(b []byte, want int) ([]cid.Cid, error) {
	var out []cid.Cid
	for len(b) > 0 {
		n, c, err := cid.CidFromBytes(b)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		b = b[n:]
	}
	if want >= 0 && len(out) != want {
		return nil, fmt.Errorf("%d CIDs, want %d", len(out), want)
	}
	return out, nil
}

// leafCID rebuilds a leaf's CID from its digest.
func leafCID(digest []byte) (cid.Cid, error) {
	m, err := mh.Encode(digest, mh.SHA2_256)
	if err != nil {
		return cid.Undef, err
	}
	return cid.NewCidV1(cid.Raw, m), nil
}

// leafDigest returns the digest of a leaf CID, which must be a raw
// sha2-256 CIDv1 as the profile makes.
func leafDigest(c cid.Cid) ([]byte, error) {
	if c.Version() != 1 || c.Type() != cid.Raw {
		return nil, fmt.Errorf("leaf %s is not a raw CIDv1 (not a %s dataset)", c, Profile)
	}
	d, err := mh.Decode(c.Hash())
	if err != nil || d.Code != mh.SHA2_256 || len(d.Digest) != 32 {
		return nil, fmt.Errorf("leaf %s is not hashed with sha2-256 (not a %s dataset)", c, Profile)
	}
	return d.Digest, nil
}
