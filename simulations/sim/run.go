package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/meshcache/meshcache/simulations/scenario"
)

// Run simulates every strategy of opt (all that apply by default) on the
// scenario and reports what each achieved.
func Run(ctx context.Context, sc *scenario.Scenario, opt Options) (*Report, error) {
	begin := time.Now()
	names, err := opt.strategies(sc.CrossRegion)
	if err != nil {
		return nil, err
	}
	w, err := newWorld(sc, opt)
	if err != nil {
		return nil, fmt.Errorf("simulate %s: %w", sc.Name, err)
	}
	rep := &Report{Nodes: sc.Nodes(), Regions: len(sc.Regions), DatasetBytes: sc.Dataset.Size, Mode: w.mode.String()}
	for _, name := range names {
		t0 := time.Now()
		res, err := w.simulate(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("simulate %s, %s: %w", sc.Name, name, err)
		}
		res.WallS = time.Since(t0).Seconds()
		rep.Strategies = append(rep.Strategies, res)
	}
	rep.WallS = time.Since(begin).Seconds()
	return rep, nil
}

func (w *world) simulate(ctx context.Context, name string) (StrategyResult, error) {
	r := newRun(w)
	var st strategy
	mustRead := w.size
	switch name {
	case AllOrigin:
		st, mustRead = newAllOrigin(r), w.size*float64(len(w.nodes))
	case PeersUncoordinated:
		st = newUncoordinated(r)
	case Coordinated:
		st, mustRead = newCoordinated(r, false), w.size*float64(len(w.regions))
	case CoordinatedGlobal:
		st = newCoordinated(r, true)
	default:
		return StrategyResult{}, fmt.Errorf("%w: %q", ErrUnknownStrategy, name)
	}
	if err := r.drive(ctx, st); err != nil {
		return StrategyResult{}, err
	}
	if f, ok := st.(finalizer); ok {
		f.finalize()
	}
	return r.result(name, mustRead), nil
}

// Sweep runs the scenario scaled to each of its sweep node counts (or
// just as written when it has none), for the plot. done, when not nil, is
// a report of the scenario as written, reused rather than run again.
func Sweep(ctx context.Context, sc *scenario.Scenario, opt Options, done *Report) ([]*Report, error) {
	counts := sc.Sweep
	if len(counts) == 0 {
		counts = []int{sc.Nodes()}
	}
	var out []*Report
	for _, n := range counts {
		s := sc
		if n != sc.Nodes() {
			s = sc.Scaled(n)
		}
		if done != nil && s.Nodes() == done.Nodes {
			out = append(out, done)
			continue
		}
		rep, err := Run(ctx, s, opt)
		if err != nil {
			return nil, fmt.Errorf("sweep at %d nodes: %w", n, err)
		}
		out = append(out, rep)
	}
	return out, nil
}
