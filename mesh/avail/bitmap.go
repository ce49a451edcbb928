package avail

import (
	"fmt"
	"math/bits"
)

// Bitmap is a fixed-length set of leaf indexes, one bit per leaf (10
// million leaves take 1.25 MB). It is not safe for concurrent use; the
// Service guards its own copies.
type Bitmap struct {
	n     int64
	words []uint64
}

// NewBitmap returns an empty bitmap of n leaves.
func NewBitmap(n int64) *Bitmap {
	if n < 0 {
		n = 0
	}
	return &Bitmap{n: n, words: make([]uint64, (n+63)/64)}
}

// Len is the number of leaves.
func (b *Bitmap) Len() int64 { return b.n }

func (b *Bitmap) inRange(i int64) bool { return i >= 0 && i < b.n }

// Set marks leaf i held and reports whether it changed. Out-of-range
// indexes are ignored (false).
func (b *Bitmap) Set(i int64) bool {
	if !b.inRange(i) {
		return false
	}
	w, m := &b.words[i>>6], uint64(1)<<(uint(i)&63)
	if *w&m != 0 {
		return false
	}
	*w |= m
	return true
}

// Clear marks leaf i not held and reports whether it changed.
func (b *Bitmap) Clear(i int64) bool {
	if !b.inRange(i) {
		return false
	}
	w, m := &b.words[i>>6], uint64(1)<<(uint(i)&63)
	if *w&m == 0 {
		return false
	}
	*w &^= m
	return true
}

// Has reports whether leaf i is held (false out of range).
func (b *Bitmap) Has(i int64) bool {
	return b.inRange(i) && b.words[i>>6]&(1<<(uint(i)&63)) != 0
}

// Count is the number of held leaves.
func (b *Bitmap) Count() int64 {
	var c int
	for _, w := range b.words {
		c += bits.OnesCount64(w)
	}
	return int64(c)
}

// SetRange marks leaves [from, to) held.
func (b *Bitmap) SetRange(from, to int64) {
	from, to = max(from, 0), min(to, b.n)
	for i := from; i < to; {
		if i&63 == 0 && to-i >= 64 {
			b.words[i>>6] = ^uint64(0)
			i += 64
			continue
		}
		b.words[i>>6] |= 1 << (uint(i) & 63)
		i++
	}
}

// Clone returns an independent copy.
func (b *Bitmap) Clone() *Bitmap {
	return &Bitmap{n: b.n, words: append([]uint64(nil), b.words...)}
}

// Equal reports whether both bitmaps have the same length and bits.
func (b *Bitmap) Equal(o *Bitmap) bool {
	if b.n != o.n {
		return false
	}
	for i, w := range b.words {
		if o.words[i] != w {
			return false
		}
	}
	return true
}

// byteAt returns the j-th byte of the bitmap (leaves 8j..8j+7, least
// significant bit first).
func (b *Bitmap) byteAt(j int64) byte { return byte(b.words[j>>3] >> (8 * (uint(j) & 7))) }

func (b *Bitmap) orByte(j int64, v byte) { b.words[j>>3] |= uint64(v) << (8 * (uint(j) & 7)) }

// MarshalBinary encodes the leaf count and the bits, run-length encoded
// when that is smaller.
func (b *Bitmap) MarshalBinary() ([]byte, error) {
	out := appendUvarint(nil, uint64(b.n))
	return appendRange(out, b, 0, b.n), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote; it refuses trailing
// bytes, set bits past the end and run lengths that do not add up.
func (b *Bitmap) UnmarshalBinary(data []byte) error {
	n, k := uvarint(data)
	if k <= 0 || n > MaxLeaves {
		return fmt.Errorf("%w: bitmap leaf count", ErrMalformed)
	}
	nb := NewBitmap(int64(n))
	if err := decodeRange(data[k:], nb, 0, int64(n)); err != nil {
		return err
	}
	*b = *nb
	return nil
}
