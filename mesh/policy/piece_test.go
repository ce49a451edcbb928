package policy

import "testing"

func TestPieces(t *testing.T) {
	tests := []struct {
		name            string
		leaves          int64
		per             int
		count           int64
		leaf, piece     int64
		first, end      int64 // Range(piece)
		wantErr         bool
		lastFirst, last int64 // Range(count-1)
	}{
		{name: "default size", leaves: 1000, per: 0, count: 16, leaf: 64, piece: 1, first: 64, end: 128, lastFirst: 960, last: 1000},
		{name: "exact multiple", leaves: 128, per: 64, count: 2, leaf: 127, piece: 1, first: 64, end: 128, lastFirst: 64, last: 128},
		{name: "one block pieces", leaves: 3, per: 1, count: 3, leaf: 2, piece: 2, first: 2, end: 3, lastFirst: 2, last: 3},
		{name: "smaller than a piece", leaves: 5, per: 64, count: 1, leaf: 4, piece: 0, first: 0, end: 5, lastFirst: 0, last: 5},
		{name: "empty", leaves: 0, per: 64, count: 0, leaf: 0, piece: -1},
		{name: "negative leaves", leaves: -1, wantErr: true},
		{name: "negative size", leaves: 10, per: -2, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPieces(tt.leaves, tt.per)
			if (err != nil) != tt.wantErr {
				t.Fatalf("NewPieces(%d, %d) error = %v, want error %v", tt.leaves, tt.per, err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got := p.Count(); got != tt.count {
				t.Errorf("Count = %d, want %d", got, tt.count)
			}
			if got := p.Of(tt.leaf); got != tt.piece {
				t.Errorf("Of(%d) = %d, want %d", tt.leaf, got, tt.piece)
			}
			if tt.piece >= 0 {
				if f, e := p.Range(tt.piece); f != tt.first || e != tt.end {
					t.Errorf("Range(%d) = [%d,%d), want [%d,%d)", tt.piece, f, e, tt.first, tt.end)
				}
			}
			if tt.count > 0 {
				if f, e := p.Range(tt.count - 1); f != tt.lastFirst || e != tt.last {
					t.Errorf("Range(last) = [%d,%d), want [%d,%d)", f, e, tt.lastFirst, tt.last)
				}
			}
			for _, bad := range []int64{-1, tt.count} {
				if f, e := p.Range(bad); f != e {
					t.Errorf("Range(%d) = [%d,%d), want empty", bad, f, e)
				}
			}
			for _, bad := range []int64{-1, tt.leaves} {
				if got := p.Of(bad); got != -1 {
					t.Errorf("Of(%d) = %d, want -1", bad, got)
				}
			}
		})
	}
}

// TestPiecesPartition checks that pieces cover every leaf exactly once, in
// order, and that Of and Range agree.
func TestPiecesPartition(t *testing.T) {
	for _, leaves := range []int64{1, 63, 64, 65, 1000, 4097} {
		for _, per := range []int{1, 7, 64, 100} {
			p, err := NewPieces(leaves, per)
			if err != nil {
				t.Fatal(err)
			}
			next := int64(0)
			for piece := range p.Count() {
				f, e := p.Range(piece)
				if f != next || e <= f || e-f > int64(per) {
					t.Fatalf("leaves %d per %d: Range(%d) = [%d,%d), want start %d, 1..%d long", leaves, per, piece, f, e, next, per)
				}
				for leaf := f; leaf < e; leaf++ {
					if got := p.Of(leaf); got != piece {
						t.Fatalf("leaves %d per %d: Of(%d) = %d, want %d", leaves, per, leaf, got, piece)
					}
				}
				next = e
			}
			if next != leaves {
				t.Fatalf("leaves %d per %d: pieces end at %d", leaves, per, next)
			}
		}
	}
}

func TestPiecesAccessors(t *testing.T) {
	p, err := NewPieces(1000, 0)
	if err != nil || p.Leaves() != 1000 || p.PerPiece() != DefaultPieceBlocks {
		t.Fatalf("NewPieces(1000, 0) = %d leaves, %d per piece, %v", p.Leaves(), p.PerPiece(), err)
	}
	var zero Pieces
	if zero.Count() != 0 || zero.Of(0) != -1 {
		t.Fatalf("zero Pieces has %d pieces, Of(0) = %d", zero.Count(), zero.Of(0))
	}
}
