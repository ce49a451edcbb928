package policy

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// View is one node's idea of the live members of a region that want a
// dataset: a sorted set of peer IDs, an epoch that grows whenever the set
// changes, and a digest of the set. Two nodes agree when their Stamps are
// equal; comparing stamps costs 24 bytes on the wire instead of the set.
// A View is immutable; the zero value is the empty view at epoch 0.
type View struct {
	epoch   uint64
	members []string // sorted, unique
	digest  Digest
}

// Digest identifies a member set: the first 16 bytes of SHA-256 over the
// sorted, length-prefixed IDs. It detects disagreement between honest
// members; it is not an authenticator.
type Digest [16]byte

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// Stamp is what nodes exchange to tell whether their views agree.
type Stamp struct {
	Epoch  uint64
	Digest Digest
}

// Compare orders stamps by epoch, then by digest. Every node computes the
// same order, so nodes that gossip views and keep the greatest converge on
// one view even when two of them made different changes at the same epoch.
func (s Stamp) Compare(o Stamp) int {
	if c := cmp.Compare(s.Epoch, o.Epoch); c != 0 {
		return c
	}
	return bytes.Compare(s.Digest[:], o.Digest[:])
}

// NewView makes the view of members at epoch; members are copied, sorted
// and deduplicated, and empty IDs dropped.
func NewView(epoch uint64, members []string) View {
	m := slices.Clone(members)
	slices.Sort(m)
	m = slices.Compact(m)
	if len(m) > 0 && m[0] == "" {
		m = m[1:]
	}
	return View{epoch: epoch, members: m, digest: digestOf(m)}
}

func digestOf(sorted []string) Digest {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, id := range sorted {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(id)))])
		h.Write([]byte(id))
	}
	var sum [sha256.Size]byte
	var d Digest
	copy(d[:], h.Sum(sum[:0]))
	return d
}

// Epoch is the view's epoch.
func (v View) Epoch() uint64 { return v.epoch }

// Digest is the digest of the member set.
func (v View) Digest() Digest { return v.digest }

// Stamp is the (epoch, digest) pair.
func (v View) Stamp() Stamp { return Stamp{Epoch: v.epoch, Digest: v.digest} }

// Agrees reports whether v and o have the same epoch and member set.
func (v View) Agrees(o View) bool { return v.Stamp() == o.Stamp() }

// Len is the number of members.
func (v View) Len() int { return len(v.members) }

// Member is the i-th member in ID order; member indexes are the ones
// Table uses.
func (v View) Member(i int) string { return v.members[i] }

// Members is a copy of the members in ID order.
func (v View) Members() []string { return slices.Clone(v.members) }

// Index is the index of id, or -1 when it is not a member.
func (v View) Index(id string) int {
	if i, ok := slices.BinarySearch(v.members, id); ok {
		return i
	}
	return -1
}

// Contains reports whether id is a member.
func (v View) Contains(id string) bool { return v.Index(id) >= 0 }

// Apply returns the view with add joined and remove gone (remove wins when
// an ID is in both). The epoch grows by one when the set changes and stays
// when it does not, so an epoch names one set on any one node.
func (v View) Apply(add, remove []string) View {
	m := make([]string, 0, len(v.members)+len(add))
	m = append(m, v.members...)
	m = append(m, add...)
	slices.Sort(m)
	m = slices.Compact(m)
	m = slices.DeleteFunc(m, func(id string) bool { return id == "" || slices.Contains(remove, id) })
	if slices.Equal(m, v.members) {
		return v
	}
	return View{epoch: v.epoch + 1, members: m, digest: digestOf(m)}
}
