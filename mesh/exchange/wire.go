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
)

// errFrame marks malformed frames; callers see it inside ErrProtocol.
var errFrame = errors.New("malformed frame")

// appendRequest encodes a request: uvarint count, then each CID as a
// uvarint length and its bytes.
func appendRequest(buf []byte, cids []cid.Cid) ([]byte, error) {
	if len(cids) == 0 || len(cids) > MaxBatch {
		return nil, fmt.Errorf("request of %d CIDs, want 1..%d", len(cids), MaxBatch)
	}
	buf = binary.AppendUvarint(buf, uint64(len(cids)))
	for _, c := range cids {
		b := c.Bytes()
		if len(b) == 0 || len(b) > MaxCIDLen {
			return nil, fmt.Errorf("CID %s is %d bytes, want 1..%d", c, len(b), MaxCIDLen)
		}
		buf = binary.AppendUvarint(buf, uint64(len(b)))
		buf = append(buf, b...)
	}
	return buf, nil
}

// readRequest decodes a request of at most max CIDs.
func readRequest(r *bufio.Reader, max int) ([]cid.Cid, error) {
	n, err := readBounded(r, 1, uint64(max), "CID count")
	if err != nil {
		return nil, err
	}
	cids := make([]cid.Cid, 0, n)
	var buf [MaxCIDLen]byte
	for i := uint64(0); i < n; i++ {
		l, err := readBounded(r, 1, MaxCIDLen, "CID length")
		if err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(r, buf[:l]); err != nil {
			return nil, fmt.Errorf("read CID %d of %d: %w", i+1, n, eofIsUnexpected(err))
		}
		c, err := cid.Cast(buf[:l])
		if err != nil {
			return nil, fmt.Errorf("CID %d of %d: %w: %w", i+1, n, errFrame, err)
		}
		cids = append(cids, c)
	}
	return cids, nil
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
	case statusDontHave, statusBusy:
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
