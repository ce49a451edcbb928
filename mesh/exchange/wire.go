package exchange

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/protocol"
)

// ProtocolID is the block exchange protocol.
const ProtocolID protocol.ID = "/meshcache/blocks/1"

// Hard limits of the wire format. A frame beyond them is a protocol error,
// refused before anything is allocated for it.
const (
	// MaxBatch is the most CIDs one request may carry.
	MaxBatch = 1024
	// MaxCIDLen bounds one encoded CID (a CIDv1 with SHA-256 is 36 bytes;
	// room is left for longer digests).
	MaxCIDLen = 128
	// MaxBlockSize is the largest block a response may carry (boxo and
	// meshcache's store refuse larger blocks).
	MaxBlockSize = 2 << 20
)

// Response statuses, one per requested CID, in request order.
const (
	statusBlock    byte = 1 // followed by uvarint size and the bytes
	statusDontHave byte = 2
	// statusBusy is sent once, in place of every answer, when the peer
	// has too many requests from us in flight.
	statusBusy byte = 3
	// statusPending is a keepalive sent in place of an answer, as often as
	// the server's KeepAlive, while the server waits for the block to land
	// from its own fetch of the block's piece; the answer follows later.
	statusPending byte = 4
)

// MaxLeaf bounds a leaf index in a request with a dataset context (2^40
// leaves of 1 MiB is an exbibyte).
const MaxLeaf = 1 << 40

// request is a decoded request. With a dataset context (root defined),
// every CID comes with its leaf index in that dataset, so the owner of
// the leaf's piece can queue the request until the block lands.
type request struct {
	root   cid.Cid
	cids   []cid.Cid
	leaves []int64 // nil without a context
}

// errFrame marks malformed frames; callers see it inside ErrProtocol.
var errFrame = errors.New("malformed frame")

// appendRequest encodes a request: uvarint count, then each CID as a
// uvarint length and its bytes. A request with a dataset context starts
// with a zero byte (a count of zero, which a plain request never has) and
// the root as a uvarint length and its bytes, and each CID is preceded by
// its leaf index as a uvarint.
func appendRequest(buf []byte, req request) ([]byte, error) {
	cids := req.cids
	if len(cids) == 0 || len(cids) > MaxBatch {
		return nil, fmt.Errorf("request of %d CIDs, want 1..%d", len(cids), MaxBatch)
	}
	withLeaves := req.root.Defined()
	if withLeaves {
		if len(req.leaves) != len(cids) {
			return nil, fmt.Errorf("request of %d CIDs with %d leaf indexes", len(cids), len(req.leaves))
		}
		buf = append(buf, 0)
		var err error
		if buf, err = appendCID(buf, req.root); err != nil {
			return nil, fmt.Errorf("dataset root: %w", err)
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(cids)))
	for i, c := range cids {
		if withLeaves {
			if req.leaves[i] < 0 || req.leaves[i] > MaxLeaf {
				return nil, fmt.Errorf("leaf index %d, want 0..%d", req.leaves[i], int64(MaxLeaf))
			}
			buf = binary.AppendUvarint(buf, uint64(req.leaves[i]))
		}
		var err error
		if buf, err = appendCID(buf, c); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func appendCID(buf []byte, c cid.Cid) ([]byte, error) {
	b := c.Bytes()
	if len(b) == 0 || len(b) > MaxCIDLen {
		return nil, fmt.Errorf("CID %s is %d bytes, want 1..%d", c, len(b), MaxCIDLen)
	}
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...), nil
}

// readRequest decodes a request of at most max CIDs.
func readRequest(r *bufio.Reader, max int) (request, error) {
	var req request
	first, err := r.Peek(1)
	if err != nil {
		return req, fmt.Errorf("read CID count: %w", eofIsUnexpected(err))
	}
	if first[0] == 0 {
		_, _ = r.ReadByte()
		if req.root, err = readCID(r, "dataset root"); err != nil {
			return req, err
		}
	}
	n, err := readBounded(r, 1, uint64(max), "CID count")
	if err != nil {
		return req, err
	}
	req.cids = make([]cid.Cid, 0, n)
	if req.root.Defined() {
		req.leaves = make([]int64, 0, n)
	}
	for i := uint64(0); i < n; i++ {
		what := fmt.Sprintf("CID %d of %d", i+1, n)
		if req.root.Defined() {
			leaf, err := readBounded(r, 0, MaxLeaf, "leaf index")
			if err != nil {
				return req, err
			}
			req.leaves = append(req.leaves, int64(leaf))
		}
		c, err := readCID(r, what)
		if err != nil {
			return req, err
		}
		req.cids = append(req.cids, c)
	}
	return req, nil
}

// readCID reads a uvarint length and that many bytes of CID.
func readCID(r *bufio.Reader, what string) (cid.Cid, error) {
	var buf [MaxCIDLen]byte
	l, err := readBounded(r, 1, MaxCIDLen, what+" length")
	if err != nil {
		return cid.Undef, err
	}
	if _, err := io.ReadFull(r, buf[:l]); err != nil {
		return cid.Undef, fmt.Errorf("read %s: %w", what, eofIsUnexpected(err))
	}
	c, err := cid.Cast(buf[:l])
	if err != nil {
		return cid.Undef, fmt.Errorf("%s: %w: %w", what, errFrame, err)
	}
	return c, nil
}

// appendBlockHeader encodes the header of a block answer.
func appendBlockHeader(buf []byte, size int) []byte {
	buf = append(buf, statusBlock)
	return binary.AppendUvarint(buf, uint64(size))
}

// readAnswer decodes one answer's status and, for a block, its size; the
// caller reads the bytes.
func readAnswer(r *bufio.Reader) (status byte, size int, err error) {
	status, err = r.ReadByte()
	if err != nil {
		return 0, 0, fmt.Errorf("read status: %w", eofIsUnexpected(err))
	}
	switch status {
	case statusDontHave, statusBusy, statusPending:
		return status, 0, nil
	case statusBlock:
		n, err := readBounded(r, 0, MaxBlockSize, "block size")
		return status, int(n), err
	default:
		return 0, 0, fmt.Errorf("%w: unknown status %#x", errFrame, status)
	}
}

// readBounded reads a uvarint and checks it lies in [lo, hi].
func readBounded(r io.ByteReader, lo, hi uint64, what string) (uint64, error) {
	v, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("read %s: %w", what, eofIsUnexpected(err))
		}
		return 0, fmt.Errorf("%w: %s: %w", errFrame, what, err)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%w: %s %d outside %d..%d", errFrame, what, v, lo, hi)
	}
	return v, nil
}

// eofIsUnexpected: every frame read here is expected to be present, so a
// clean end of stream is a truncation.
func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
