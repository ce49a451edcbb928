package policy

import "fmt"

// DefaultPieceBlocks is the piece size in blocks: 64 blocks of 1 MiB make
// 64 MiB, large enough for the owner to read the origin in big ranged GETs,
// small enough that one region spreads a dataset over many owners.
const DefaultPieceBlocks = 64

// Pieces cuts a dataset's leaves, in their fixed global order, into pieces
// of consecutive blocks. The last piece may be short. The zero value has no
// pieces.
type Pieces struct {
	leaves   int64
	perPiece int64
}

// NewPieces describes a dataset of leaves leaves cut into pieces of
// perPiece blocks (DefaultPieceBlocks when perPiece is 0).
func NewPieces(leaves int64, perPiece int) (Pieces, error) {
	if perPiece == 0 {
		perPiece = DefaultPieceBlocks
	}
	if leaves < 0 {
		return Pieces{}, fmt.Errorf("pieces: negative leaf count %d", leaves)
	}
	if perPiece < 0 {
		return Pieces{}, fmt.Errorf("pieces: negative piece size %d", perPiece)
	}
	return Pieces{leaves: leaves, perPiece: int64(perPiece)}, nil
}

// Leaves is the number of leaves of the dataset.
func (p Pieces) Leaves() int64 { return p.leaves }

// PerPiece is the number of blocks in every piece but maybe the last.
func (p Pieces) PerPiece() int64 { return p.perPiece }

// Count is the number of pieces.
func (p Pieces) Count() int64 {
	if p.perPiece == 0 {
		return 0
	}
	return (p.leaves + p.perPiece - 1) / p.perPiece
}

// Of is the piece that holds leaf, or -1 when leaf is out of range.
func (p Pieces) Of(leaf int64) int64 {
	if leaf < 0 || leaf >= p.leaves {
		return -1
	}
	return leaf / p.perPiece
}

// Range is the leaves [first, end) of piece; empty when piece is out of
// range.
func (p Pieces) Range(piece int64) (first, end int64) {
	if piece < 0 || piece >= p.Count() {
		return 0, 0
	}
	first = piece * p.perPiece
	return first, min(first+p.perPiece, p.leaves)
}
