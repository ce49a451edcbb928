package policy

import (
	"cmp"
	"slices"
)

// Table answers ownership questions for one dataset over one View: which
// member reads each piece from the origin, and in which order the others
// take over when it stalls. It hashes every member once when built, so a
// question about a piece costs one XOR and one mix per member. Members are
// named by their index in the View (ID order); ties in weight, which need a
// 64-bit collision, go to the lower index so every node breaks them alike.
// A Table is immutable and safe for concurrent use.
type Table struct {
	view   View
	dsHash uint64
	keys   []uint64 // keys[i] = memberKey of view.Member(i)
}

// NewTable prepares ownership of dataset over view. dataset is a stable
// key of the dataset, normally its root CID's KeyString.
func NewTable(dataset string, view View) *Table {
	s := datasetState(dataset)
	keys := make([]uint64, view.Len())
	for i := range keys {
		keys[i] = memberKey(s, view.Member(i))
	}
	return &Table{view: view, dsHash: s, keys: keys}
}

// View is the view the table was built over.
func (t *Table) View() View { return t.view }

// Weight is member i's weight for piece.
func (t *Table) Weight(piece int64, i int) uint64 {
	return mix(t.keys[i] ^ pieceKey(t.dsHash, piece))
}

// Owner is the index of the member that owns piece, or -1 when the view is
// empty.
func (t *Table) Owner(piece int64) int {
	return t.TakeoverIndex(piece, nil)
}

// OwnerID is the ID of the owner of piece; false when the view is empty.
func (t *Table) OwnerID(piece int64) (string, bool) {
	i := t.Owner(piece)
	if i < 0 {
		return "", false
	}
	return t.view.Member(i), true
}

// TakeoverIndex is the highest-ranked member for piece that failed does not
// report, or -1 when every member failed. failed may be nil. Because a
// member's weight does not depend on the others, this is also the owner
// over the view with the failed members removed: takeover and a new view
// agree.
func (t *Table) TakeoverIndex(piece int64, failed func(i int) bool) int {
	pk := pieceKey(t.dsHash, piece)
	best, bestW := -1, uint64(0)
	for i, k := range t.keys {
		w := mix(k ^ pk)
		if (best < 0 || w > bestW) && (failed == nil || !failed(i)) {
			best, bestW = i, w
		}
	}
	return best
}

// Takeover is the ID of the next live owner of piece: the highest-ranked
// member whose ID failed does not report. false when all failed.
func (t *Table) Takeover(piece int64, failed func(id string) bool) (string, bool) {
	var f func(int) bool
	if failed != nil {
		f = func(i int) bool { return failed(t.view.Member(i)) }
	}
	i := t.TakeoverIndex(piece, f)
	if i < 0 {
		return "", false
	}
	return t.view.Member(i), true
}

// Position is member i's place in piece's takeover order: 0 for the owner,
// 1 for the first to take over, and so on. A member uses it to know after
// how many stalled predecessors the piece is its own.
func (t *Table) Position(piece int64, i int) int {
	pk := pieceKey(t.dsHash, piece)
	wi := mix(t.keys[i] ^ pk)
	n := 0
	for j, k := range t.keys {
		if w := mix(k ^ pk); w > wi || (w == wi && j < i) {
			n++
		}
	}
	return n
}

type ranked struct {
	w uint64
	i int
}

func (a ranked) before(b ranked) bool { return a.w > b.w || (a.w == b.w && a.i < b.i) }

// Rank appends to dst the indexes of the k highest-ranked members for
// piece, owner first: the takeover order. k <= 0 or k >= Len ranks
// everyone. A small k costs O(N·k) and allocates nothing beyond dst; the
// full order sorts.
func (t *Table) Rank(piece int64, k int, dst []int) []int {
	n := len(t.keys)
	if k <= 0 || k > n {
		k = n
	}
	pk := pieceKey(t.dsHash, piece)
	if k > 16 {
		all := make([]ranked, n)
		for i, key := range t.keys {
			all[i] = ranked{mix(key ^ pk), i}
		}
		slices.SortFunc(all, func(a, b ranked) int {
			if c := cmp.Compare(b.w, a.w); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		for _, r := range all[:k] {
			dst = append(dst, r.i)
		}
		return dst
	}
	var buf [16]ranked
	top := buf[:0]
	for i, key := range t.keys {
		r := ranked{mix(key ^ pk), i}
		if len(top) == k && !r.before(top[k-1]) {
			continue
		}
		if len(top) < k {
			top = append(top, r)
		} else {
			top[k-1] = r
		}
		for j := len(top) - 1; j > 0 && top[j].before(top[j-1]); j-- {
			top[j], top[j-1] = top[j-1], top[j]
		}
	}
	for _, r := range top {
		dst = append(dst, r.i)
	}
	return dst
}
