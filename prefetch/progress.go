package prefetch

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"
)

// State is where a pin is in its life.
type State string

// Pin states.
const (
	StateQueued  State = "queued"
	StatePinning State = "pinning"
	StatePinned  State = "pinned"
	StateFailed  State = "failed"
)

// Status is a pin's progress.
type Status struct {
	Root        cid.Cid
	Origin      string
	State       State
	Error       string
	BytesDone   int64
	BytesTotal  int64
	BlocksDone  int64
	BlocksTotal int64
	// BySource counts bytes by where they came from: SourceLocal (already
	// held), SourcePeer, SourceOrigin.
	BySource    map[string]int64
	CrossRegion int64
	Started     time.Time
	Updated     time.Time
	// Rate is bytes per second fetched (not counting local bytes) since start.
	Rate float64
	// ETA is the estimated time left at Rate (0 when unknown or done).
	ETA time.Duration
}

// progress is a running pin's counters, updated by many fetch workers.
type progress struct {
	bytesDone, blocksDone, fetched atomic.Int64
	mu                             sync.Mutex
	bySource                       map[string]int64
	bytesTotal, blocksTotal        int64
	started                        time.Time
}

func newProgress(now time.Time) *progress {
	return &progress{bySource: map[string]int64{}, started: now}
}

func (p *progress) add(source string, n int64, blocks int64) {
	p.bytesDone.Add(n)
	p.blocksDone.Add(blocks)
	if source != SourceLocal {
		p.fetched.Add(n)
	}
	p.mu.Lock()
	p.bySource[source] += n
	p.mu.Unlock()
}

// fill copies the counters into st and derives rate and ETA.
func (p *progress) fill(st *Status, now time.Time) {
	st.BytesDone = p.bytesDone.Load()
	st.BlocksDone = p.blocksDone.Load()
	p.mu.Lock()
	st.BytesTotal, st.BlocksTotal = p.bytesTotal, p.blocksTotal
	st.BySource = make(map[string]int64, len(p.bySource))
	for k, v := range p.bySource {
		st.BySource[k] = v
	}
	st.CrossRegion = p.bySource[SourceRemotePeer]
	p.mu.Unlock()
	st.Started = p.started
	st.Updated = now
	if el := now.Sub(p.started).Seconds(); el > 0 {
		st.Rate = float64(p.fetched.Load()) / el
	}
	if left := st.BytesTotal - st.BytesDone; left > 0 && st.Rate > 0 {
		st.ETA = time.Duration(float64(left) / st.Rate * float64(time.Second))
	}
}
