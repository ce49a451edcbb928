package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
)

// The simulator asks ownership questions for every piece of a dataset over
// regions of up to 10,000 members; these benchmarks size that cost.

func benchTable(b *testing.B, n int) *Table {
	b.Helper()
	return NewTable("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", NewView(1, peers(n)))
}

func BenchmarkOwner(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			tab := benchTable(b, n)
			b.ReportAllocs()
			piece := int64(0)
			for b.Loop() {
				tab.Owner(piece)
				piece++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/member")
		})
	}
}

func BenchmarkTakeover10k(b *testing.B) {
	tab := benchTable(b, 10000)
	failed := make([]bool, 10000)
	for i := range failed {
		failed[i] = i%10 == 0
	}
	isFailed := func(i int) bool { return failed[i] }
	b.ReportAllocs()
	piece := int64(0)
	for b.Loop() {
		tab.TakeoverIndex(piece, isFailed)
		piece++
	}
}

func BenchmarkRank10k(b *testing.B) {
	tab := benchTable(b, 10000)
	for _, k := range []int{4, 16, 0} {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			dst := make([]int, 0, 10000)
			b.ReportAllocs()
			piece := int64(0)
			for b.Loop() {
				dst = tab.Rank(piece, k, dst[:0])
				piece++
			}
		})
	}
}

func BenchmarkNewTable10k(b *testing.B) {
	v := NewView(1, peers(10000))
	b.ReportAllocs()
	for b.Loop() {
		NewTable("bafy-root", v)
	}
}

// BenchmarkAssign1TiB: owners of every 64 MiB piece of a 1 TiB dataset
// (16,384 pieces) over a 1,000-member region: one full assignment.
func BenchmarkAssign1TiB(b *testing.B) {
	tab := benchTable(b, 1000)
	b.ReportAllocs()
	for b.Loop() {
		for piece := range int64(16384) {
			tab.Owner(piece)
		}
	}
}

// BenchmarkWeight compares the weight function against SHA-256 truncated
// to 64 bits, the obvious alternative: per (piece, member) with the member
// hashed once (as Table does) and from scratch (as Weight does).
func BenchmarkWeight(b *testing.B) {
	const ds, member = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi", "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
	var sink uint64
	b.Run("table", func(b *testing.B) {
		tab := NewTable(ds, NewView(1, []string{member}))
		piece := int64(0)
		for b.Loop() {
			sink ^= tab.Weight(piece, 0)
			piece++
		}
	})
	b.Run("fnv-splitmix", func(b *testing.B) {
		piece := int64(0)
		for b.Loop() {
			sink ^= Weight(ds, piece, member)
			piece++
		}
	})
	b.Run("sha256", func(b *testing.B) {
		buf := make([]byte, 0, 256)
		piece := int64(0)
		b.ReportAllocs()
		for b.Loop() {
			buf = append(append(append(buf[:0], ds...), member...), 0, 0, 0, 0, 0, 0, 0, 0)
			binary.LittleEndian.PutUint64(buf[len(buf)-8:], uint64(piece))
			sum := sha256.Sum256(buf)
			sink ^= binary.LittleEndian.Uint64(sum[:])
			piece++
		}
	})
	_ = sink
}

func BenchmarkRankHolders(b *testing.B) {
	for _, n := range []int{8, 32, 128} {
		b.Run(fmt.Sprintf("holders=%d", n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			in := randomHolders(rng, n)
			hs := make([]Holder, n)
			opt := DefaultRankOptions(Labels{"eu", "a", "1"}, rng)
			b.ReportAllocs()
			for b.Loop() {
				copy(hs, in)
				RankHolders(hs, opt)
			}
		})
	}
}

func BenchmarkNewView10k(b *testing.B) {
	ids := peers(10000)
	b.ReportAllocs()
	for b.Loop() {
		NewView(1, ids)
	}
}
