package prefetch

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshcache/meshcache/origin"
)

// w is a want of size bytes at off in file p (leaf numbers follow offsets).
func w(p string, off, size int64) Want {
	return Want{Leaf: off / mib, File: origin.FileInfo{Path: p}, Offset: off, Size: size}
}

// runString shows runs as "p@off+size,…|…".
func runString(runs [][]Want) string {
	var parts []string
	for _, r := range runs {
		var ws []string
		for _, x := range r {
			ws = append(ws, fmt.Sprintf("%s@%d+%d", x.File.Path, x.Offset/mib, x.Size/mib))
		}
		parts = append(parts, strings.Join(ws, ","))
	}
	return strings.Join(parts, "|")
}

func TestCoalesce(t *testing.T) {
	cases := []struct {
		name     string
		want     []Want
		maxRange int64
		runs     string
	}{
		{"empty", nil, 16 * mib, ""},
		{"one", []Want{w("a", 0, mib)}, 16 * mib, "a@0+1"},
		{"neighbours join", []Want{w("a", 0, mib), w("a", mib, mib), w("a", 2*mib, mib)}, 16 * mib, "a@0+1,a@1+1,a@2+1"},
		{"unsorted input is sorted", []Want{w("a", 2*mib, mib), w("a", 0, mib), w("a", mib, mib)}, 16 * mib, "a@0+1,a@1+1,a@2+1"},
		{"gap splits", []Want{w("a", 0, mib), w("a", 2*mib, mib)}, 16 * mib, "a@0+1|a@2+1"},
		{"files split", []Want{w("a", 0, mib), w("b", mib, mib)}, 16 * mib, "a@0+1|b@1+1"},
		{"same offset other file", []Want{w("b", 0, mib), w("a", 0, mib)}, 16 * mib, "a@0+1|b@0+1"},
		{"cap splits", []Want{w("a", 0, mib), w("a", mib, mib), w("a", 2*mib, mib)}, 2 * mib, "a@0+1,a@1+1|a@2+1"},
		{"block larger than cap stands alone", []Want{w("a", 0, mib), w("a", mib, mib)}, mib / 2, "a@0+1|a@1+1"},
		{"short last block joins", []Want{w("a", 0, mib), w("a", mib, 5)}, 16 * mib, "a@0+1,a@1+0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := append([]Want(nil), tc.want...)
			got := runString(coalesce(tc.want, tc.maxRange))
			if got != tc.runs {
				t.Errorf("coalesce = %q, want %q", got, tc.runs)
			}
			for i := range in {
				if in[i] != tc.want[i] {
					t.Fatalf("coalesce reordered its input")
				}
			}
		})
	}
}
