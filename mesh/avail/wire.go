package avail

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ipfs/go-cid"
)

// ProtocolID is the availability protocol.
const ProtocolID = "/meshcache/avail/1"

const (
	// MaxFrame bounds one frame's payload; a 10-million-leaf bitmap is
	// 1.25 MB raw, so it travels in several frames.
	MaxFrame = 256 << 10
	// MaxLeaves bounds a dataset's leaf count (a 256 TiB dataset of 1 MiB
	// leaves; a 32 MiB bitmap).
	MaxLeaves = 1 << 28
	// chunkLeaves is the leaves per bitmap frame: 128 KiB raw, well under
	// MaxFrame with the header.
	chunkLeaves = 1 << 20
	// maxBatch bounds the indexes of one HAVE / DONT_HAVE frame (at most
	// 10 bytes each, so 160 KiB).
	maxBatch  = 16 << 10
	maxCIDLen = 128
	maxReason = 512
)

// Sentinel errors callers branch on.
var (
	// ErrMalformed marks a frame that breaks the protocol: wrong root,
	// wrong bitmap length, leaf out of range, oversized, truncated.
	ErrMalformed = errors.New("avail: malformed frame")
	// ErrRefused is a session the other side declined (REFUSE frame).
	ErrRefused = errors.New("avail: refused by peer")
	// ErrPeerLimit is a session past Config.MaxPeers for the dataset.
	ErrPeerLimit = errors.New("avail: peer limit reached for dataset")
	// ErrNotTracked is a dataset this node does not track.
	ErrNotTracked = errors.New("avail: dataset not tracked")
	// ErrClosed is the service after Close.
	ErrClosed = errors.New("avail: service closed")
)

const (
	msgHello    byte = 1 // root, leaf count
	msgBitmap   byte = 2 // root, first leaf, leaf count, encoded range
	msgHave     byte = 3 // root, ascending leaf indexes
	msgDontHave byte = 4 // root, ascending leaf indexes
	msgRefuse   byte = 5 // root, reason
)

// message is one decoded frame; which fields are set depends on typ.
type message struct {
	typ    byte
	root   cid.Cid
	leaves int64   // hello: the dataset's leaf count
	offset int64   // bitmap: first leaf of the range
	count  int64   // bitmap: leaves in the range
	body   []byte  // bitmap: encoded range (aliases the frame)
	idx    []int64 // have / dont-have: strictly ascending
	reason string  // refuse
}

func encodeMessage(m message) []byte {
	out := []byte{m.typ}
	rb := m.root.Bytes()
	out = appendUvarint(out, uint64(len(rb)))
	out = append(out, rb...)
	switch m.typ {
	case msgHello:
		out = appendUvarint(out, uint64(m.leaves))
	case msgBitmap:
		out = appendUvarint(out, uint64(m.offset))
		out = appendUvarint(out, uint64(m.count))
		out = append(out, m.body...)
	case msgHave, msgDontHave:
		out = appendUvarint(out, uint64(len(m.idx)))
		prev := int64(-1)
		for _, i := range m.idx {
			out = appendUvarint(out, uint64(i-prev))
			prev = i
		}
	case msgRefuse:
		r := m.reason
		if len(r) > maxReason {
			r = r[:maxReason]
		}
		out = append(out, r...)
	}
	return out
}

// decodeMessage parses a frame's payload. It checks the structure only;
// session.check holds it against the dataset (root, leaf count).
func decodeMessage(b []byte) (message, error) {
	var m message
	if len(b) == 0 {
		return m, fmt.Errorf("%w: empty frame", ErrMalformed)
	}
	m.typ, b = b[0], b[1:]
	l, k := uvarint(b)
	if k <= 0 || l == 0 || l > maxCIDLen || l > uint64(len(b)-k) {
		return m, fmt.Errorf("%w: root length", ErrMalformed)
	}
	c, err := cid.Cast(b[k : k+int(l)])
	if err != nil {
		return m, fmt.Errorf("%w: root: %v", ErrMalformed, err)
	}
	m.root, b = c, b[k+int(l):]
	switch m.typ {
	case msgHello:
		v, err := nums(&b, 1)
		if err != nil {
			return m, err
		}
		m.leaves = int64(v[0])
	case msgBitmap:
		v, err := nums(&b, 2)
		if err != nil {
			return m, err
		}
		m.offset, m.count, m.body = int64(v[0]), int64(v[1]), b
		b = nil
	case msgHave, msgDontHave:
		if m.idx, err = decodeIndexes(&b); err != nil {
			return m, err
		}
	case msgRefuse:
		m.reason, b = string(b[:min(len(b), maxReason)]), nil
	default:
		return m, fmt.Errorf("%w: message type %d", ErrMalformed, m.typ)
	}
	if len(b) != 0 {
		return m, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b))
	}
	return m, nil
}

// nums reads n uvarints, each at most MaxLeaves.
func nums(b *[]byte, n int) ([]uint64, error) {
	out := make([]uint64, n)
	for i := range out {
		v, k := uvarint(*b)
		if k <= 0 || v > MaxLeaves {
			return nil, fmt.Errorf("%w: bad number", ErrMalformed)
		}
		out[i], *b = v, (*b)[k:]
	}
	return out, nil
}

func decodeIndexes(b *[]byte) ([]int64, error) {
	n, k := uvarint(*b)
	// Each index takes at least one byte: a count past the bytes left is a
	// lie, and must not size an allocation.
	if k <= 0 || n == 0 || n > maxBatch || n > uint64(len(*b)-k) {
		return nil, fmt.Errorf("%w: index count", ErrMalformed)
	}
	*b = (*b)[k:]
	idx := make([]int64, 0, n)
	prev := int64(-1)
	for range n {
		d, k := uvarint(*b)
		if k <= 0 || d == 0 || d > MaxLeaves {
			return nil, fmt.Errorf("%w: index delta", ErrMalformed)
		}
		*b = (*b)[k:]
		prev += int64(d)
		if prev >= MaxLeaves {
			return nil, fmt.Errorf("%w: leaf %d out of range", ErrMalformed, prev)
		}
		idx = append(idx, prev)
	}
	return idx, nil
}

func writeFrame(w io.Writer, payload []byte) error {
	if len(payload) == 0 || len(payload) > MaxFrame {
		return fmt.Errorf("avail: frame of %d bytes", len(payload))
	}
	buf := make([]byte, 4, 4+len(payload))
	binary.BigEndian.PutUint32(buf, uint32(len(payload)))
	_, err := w.Write(append(buf, payload...))
	return err
}

// readFrame reads one frame into buf (grown as needed, up to MaxFrame).
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > MaxFrame {
		return nil, fmt.Errorf("%w: frame of %d bytes (limit %d)", ErrMalformed, n, MaxFrame)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read frame: %w", err)
	}
	return buf, nil
}
