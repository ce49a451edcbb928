package avail

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// A bitmap range is sent as one mode byte and a body. Raw is the bits,
// eight leaves a byte, least significant bit first. Runs is alternating
// run lengths (uvarints) of absent and held leaves, starting with absent
// (which may be zero); it wins for the common shapes (empty, full, a few
// contiguous spans) and the encoder falls back to raw as soon as runs
// would be larger, so a range never costs more than raw + 1 byte.
const (
	modeRaw  byte = 0
	modeRuns byte = 1
)

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

// uvarint decodes a uvarint, returning k <= 0 on truncation or overflow.
func uvarint(b []byte) (uint64, int) { return binary.Uvarint(b) }

// rawSize is the raw body length of count leaves.
func rawSize(count int64) int64 { return (count + 7) / 8 }

// appendRange appends the encoding of leaves [from, to) of b; from must be
// a multiple of 8.
func appendRange(out []byte, b *Bitmap, from, to int64) []byte {
	start := len(out)
	raw := rawSize(to - from)
	out = append(out, modeRuns)
	bit, pos := false, from
	for pos < to {
		next := nextChange(b, pos, bit, to)
		out = appendUvarint(out, uint64(next-pos))
		if int64(len(out)-start-1) > raw {
			return appendRaw(out[:start], b, from, to)
		}
		pos, bit = next, !bit
	}
	return out
}

func appendRaw(out []byte, b *Bitmap, from, to int64) []byte {
	out = append(out, modeRaw)
	count := to - from
	for j := range rawSize(count) {
		out = append(out, b.byteAt(from/8+j))
	}
	if r := count % 8; r != 0 {
		// Bits past `to` belong to the next range, not this one.
		out[len(out)-1] &= byte(1)<<r - 1
	}
	return out
}

// nextChange returns the first index in [pos, to) whose bit differs from
// bit, or to; it skips whole words.
func nextChange(b *Bitmap, pos int64, bit bool, to int64) int64 {
	for pos < to {
		w := b.words[pos>>6]
		if bit {
			w = ^w
		}
		w >>= uint(pos) & 63
		if w != 0 {
			return min(pos+int64(bits.TrailingZeros64(w)), to)
		}
		pos = (pos | 63) + 1
	}
	return to
}

// decodeRange ORs the encoded leaves [from, to) into b (from a multiple
// of 8). It refuses a body of the wrong length, set padding bits, runs that
// overflow or do not add up, and trailing bytes.
func decodeRange(data []byte, b *Bitmap, from, to int64) error {
	if from%8 != 0 || from < 0 || to < from || to > b.n {
		return fmt.Errorf("%w: range [%d, %d) of %d leaves", ErrMalformed, from, to, b.n)
	}
	if len(data) == 0 {
		return fmt.Errorf("%w: empty bitmap range", ErrMalformed)
	}
	switch data[0] {
	case modeRaw:
		return decodeRaw(data[1:], b, from, to)
	case modeRuns:
		return decodeRuns(data[1:], b, from, to)
	}
	return fmt.Errorf("%w: bitmap encoding %d", ErrMalformed, data[0])
}

func decodeRaw(body []byte, b *Bitmap, from, to int64) error {
	count := to - from
	if int64(len(body)) != rawSize(count) {
		return fmt.Errorf("%w: raw bitmap of %d bytes for %d leaves", ErrMalformed, len(body), count)
	}
	if r := count % 8; r != 0 && body[len(body)-1]>>r != 0 {
		return fmt.Errorf("%w: bits set past leaf %d", ErrMalformed, to)
	}
	for j, v := range body {
		b.orByte(from/8+int64(j), v)
	}
	return nil
}

func decodeRuns(body []byte, b *Bitmap, from, to int64) error {
	pos, bit := from, false
	for first := true; len(body) > 0; first = false {
		run, k := uvarint(body)
		if k <= 0 {
			return fmt.Errorf("%w: truncated run", ErrMalformed)
		}
		body = body[k:]
		if run > uint64(to-pos) || (run == 0 && !first) {
			return fmt.Errorf("%w: run of %d at leaf %d of [%d, %d)", ErrMalformed, run, pos, from, to)
		}
		if bit {
			b.SetRange(pos, pos+int64(run))
		}
		pos += int64(run)
		bit = !bit
	}
	if pos != to {
		return fmt.Errorf("%w: runs cover %d of %d leaves", ErrMalformed, pos-from, to-from)
	}
	return nil
}
