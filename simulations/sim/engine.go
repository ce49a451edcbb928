package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// errStuck is returned when the engine keeps finding due events at the
// same instant: a modelling bug, not a scenario error.
var errStuck = errors.New("simulation makes no progress")

// strategy is one way of fetching the dataset, driven by run.drive: rates
// are constant between events, so the engine asks for them (recompute),
// for the time to the next event the strategy itself causes (horizon),
// moves every transfer on by that long (advance) and lets the strategy act
// on what came due (settle). External events (starts, failures) reach it
// through apply after the shared node flags are updated.
type strategy interface {
	recompute()
	horizon() float64
	advance(dt float64)
	settle()
	apply(e event)
}

// finalizer is a strategy with accounting to do once the run is over.
type finalizer interface {
	finalize()
}

// quantized is a strategy that moves in steps of at least quantum
// seconds: events that fall inside a step, its own and external ones,
// take effect at its end (its transfers are clamped, never overshoot).
// It bounds the step count of piece-mode runs with thousands of
// concurrent reads; tests measure the error against block mode, which is
// not quantized.
type quantized interface {
	quantum() float64
}

// nodeState is what every strategy tracks per node.
type nodeState struct {
	b        float64 // bytes held (strategies agree it never exceeds the dataset)
	started  bool
	up       bool // false while crashed or stopped
	left     bool // dropped from its peers' view
	finished bool
	finishT  float64
}

// run is one strategy's simulation state shared by all strategies.
type run struct {
	w           *world
	now         float64
	nodes       []nodeState
	originBytes []float64 // per region of the reading node
	crossBytes  float64
	// remaining counts nodes that may still finish.
	remaining int
}

// eps is the byte slack under which floating-point leftovers count as
// done: far below a block, far above rounding at 1 TiB (float64 steps
// are 1/8192 of a byte there).
const eps = 1.0

func newRun(w *world) *run {
	r := &run{w: w, nodes: make([]nodeState, len(w.nodes)), originBytes: make([]float64, len(w.regions)), remaining: len(w.nodes)}
	for i := range r.nodes {
		r.nodes[i].up = true
	}
	return r
}

// active reports whether node i moves bytes now.
func (r *run) active(i int) bool {
	n := &r.nodes[i]
	return n.started && n.up && !n.finished
}

// inView reports whether node i's peers count it as a member that wants
// the dataset.
func (r *run) inView(i int) bool {
	n := &r.nodes[i]
	return n.started && !n.left
}

func (r *run) finish(i int) {
	n := &r.nodes[i]
	if n.finished {
		return
	}
	n.b, n.finished, n.finishT = r.w.size, true, r.now
	r.remaining--
}

func (r *run) applyCommon(e event) {
	n := &r.nodes[e.node]
	switch e.kind {
	case evDown:
		n.up = false
		if r.w.nodes[e.node].forGood && !n.finished {
			r.remaining--
		}
	case evLeave:
		n.left = true
	case evUp:
		n.up, n.left = true, false
	case evStart:
		n.started = true
	}
}

// maxSteps bounds a run; a 10,000-node, 1 TiB scenario needs well under
// a million.
const maxSteps = 50_000_000

func (r *run) drive(ctx context.Context, st strategy) error {
	ev := r.w.events
	zeroSteps := 0
	for step := 0; r.remaining > 0; step++ {
		if step&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if step > maxSteps {
			return fmt.Errorf("%w: over %d steps at t=%.3fs", errStuck, maxSteps, r.now)
		}
		for len(ev) > 0 && ev[0].t <= r.now {
			r.applyCommon(ev[0])
			st.apply(ev[0])
			ev = ev[1:]
		}
		st.recompute()
		dt := st.horizon()
		if len(ev) > 0 {
			dt = min(dt, ev[0].t-r.now)
		}
		if q, ok := st.(quantized); ok && dt < q.quantum() {
			// External events inside the step apply at its end too:
			// 10,000 staggered starts cost one step per quantum, not one
			// each.
			dt = q.quantum()
		}
		if math.IsInf(dt, 1) {
			return nil // nothing will move again: the rest never finish
		}
		// dt, not a new absolute time, moves the bytes: late in a long
		// run a short step can round away in r.now yet still matter.
		if r.now+dt <= r.now {
			if zeroSteps++; zeroSteps > 1_000_000 {
				return fmt.Errorf("%w: stuck at t=%.3fs", errStuck, r.now)
			}
		} else {
			zeroSteps = 0
		}
		st.advance(dt)
		r.now += dt
		st.settle()
	}
	return nil
}

// result summarises a finished run.
func (r *run) result(name string, mustRead float64) StrategyResult {
	w := r.w
	res := StrategyResult{Name: name, OriginBytesRatioPerRegion: make([]float64, len(w.regions)), CrossRegionBytes: int64(math.Round(r.crossBytes))}
	total := 0.0
	for i, b := range r.originBytes {
		res.OriginBytesRatioPerRegion[i] = b / w.size
		total += b
	}
	res.OriginBytesRatio = total / w.size
	var times []float64
	for i, n := range r.nodes {
		if n.finished {
			times = append(times, n.finishT-w.nodes[i].start)
		}
	}
	res.Finished, res.Failed = len(times), len(r.nodes)-len(times)
	res.TimeToPinS = QuantilesOf(times)
	res.LowerBoundS = max(w.size/w.slowestNIC(), mustRead/w.origin)
	return res
}

// horizonTo is the time for a quantity at x growing at rate to reach
// target (+Inf when it does not grow).
func horizonTo(x, target, rate float64) float64 {
	if x >= target {
		return 0
	}
	if rate <= 0 {
		return math.Inf(1)
	}
	return (target - x) / rate
}
