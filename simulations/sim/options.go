package sim

import (
	"errors"
	"fmt"
	"slices"
)

// ErrUnknownStrategy is returned for a strategy name Run does not know.
var ErrUnknownStrategy = errors.New("unknown strategy")

// Strategy names, as reported.
const (
	AllOrigin          = "all-origin"
	PeersUncoordinated = "peers-uncoordinated"
	Coordinated        = "coordinated"
	CoordinatedGlobal  = "coordinated-global"
)

// Mode is the granularity at which fetched data becomes available to
// other nodes.
type Mode int

const (
	// ModeAuto picks ModeBlock when nodes × blocks is at most
	// AutoBlockLimit, else ModePiece.
	ModeAuto Mode = iota
	// ModeBlock: a block is served to others once it has fully arrived;
	// an event per block read.
	ModeBlock
	// ModePiece: data is served as it arrives (fluid), with an event per
	// piece read; the origin reads and their ownership stay per piece.
	ModePiece
)

// AutoBlockLimit is the largest nodes × blocks that ModeAuto simulates
// block by block.
const AutoBlockLimit = 4 << 20

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeBlock:
		return "block"
	case ModePiece:
		return "piece"
	}
	return fmt.Sprintf("mode(%d)", int(m))
}

// ParseMode is the inverse of Mode.String.
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{ModeAuto, ModeBlock, ModePiece} {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown mode %q (want auto, block or piece)", s)
}

// Options tune a run.
type Options struct {
	// Seed draws staggered start times and the failing nodes
	// (scenario.StartOffsets, scenario.FailurePlan).
	Seed uint64
	Mode Mode
	// Strategies to run, in report order; empty means all that apply
	// (coordinated-global only when the scenario sets cross_region).
	Strategies []string
}

func (o Options) strategies(crossRegion bool) ([]string, error) {
	if len(o.Strategies) == 0 {
		s := []string{AllOrigin, PeersUncoordinated, Coordinated}
		if crossRegion {
			s = append(s, CoordinatedGlobal)
		}
		return s, nil
	}
	for _, s := range o.Strategies {
		if !slices.Contains([]string{AllOrigin, PeersUncoordinated, Coordinated, CoordinatedGlobal}, s) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownStrategy, s)
		}
	}
	return o.Strategies, nil
}
