package emulate

import (
	"cmp"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/simulations/scenario"
	"github.com/meshcache/meshcache/simulations/sim"
	"github.com/meshcache/meshcache/simulations/wan"
)

// pinResult is one node's pin as the harness saw it.
type pinResult struct {
	d       *daemon // the daemon the pin ended on (a restarted one after a stop)
	seconds float64
	st      api.PinStatus
	err     error
	// failure is the scenario's failure of this node, if any; gone says
	// it struck for good (crash, or stop without For): the node does not
	// finish, as in the simulator.
	failure *scenario.NodeFailure
	gone    bool
}

// nodeFailure is a failure of the plan bound to its daemon: failAt
// strikes it, the node's pin goroutine learns of it through down and gets
// the restarted daemon through back.
type nodeFailure struct {
	f    scenario.NodeFailure
	down chan struct{}
	back chan *daemon // nil when the restart failed (err says why)
	err  error
}

// pinAll pins root on every node, at the scenario's start offsets, strikes
// the scenario's failures (FailurePlan with the run's seed, the simulator's
// draw) at their times, and waits for every pin to finish or fail.
func (e *emulation) pinAll(ctx context.Context, root cid.Cid) ([]pinResult, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opt.PinTimeout)
	defer cancel()
	seed := e.seed()
	offsets := e.sc.StartOffsets(seed)
	failures := map[scenario.NodeRef]*nodeFailure{}
	for _, f := range e.sc.FailurePlan(seed) {
		failures[f.Node] = &nodeFailure{f: f, down: make(chan struct{}), back: make(chan *daemon, 1)}
	}
	ds := e.daemonsNow()
	out := make([]pinResult, len(ds))
	t0 := time.Now()
	// A failure due after every pin ended has nothing left to disturb:
	// pinsDone lets its goroutine go.
	pinsDone := make(chan struct{})
	var pinWG, failWG sync.WaitGroup
	for i, d := range ds {
		ref := scenario.NodeRef{Region: d.host.Region, Index: d.host.Index}
		nf := failures[ref]
		if nf != nil {
			e.log.Info("failure planned", "node", d.host.Port, "kind", nf.f.Kind, "at", nf.f.At, "for", nf.f.For)
			failWG.Go(func() { e.failAt(ctx, pinsDone, t0, d, nf) })
		}
		pinWG.Go(func() { out[i] = e.pinNode(ctx, t0.Add(offsets[ref.Region][ref.Index]), d, root, nf) })
	}
	pinWG.Wait()
	close(pinsDone)
	failWG.Wait()
	for _, r := range out {
		if r.gone {
			continue
		}
		if r.err != nil {
			return nil, fmt.Errorf("pin on %s: %w (log %s)", r.d.host.Port, r.err, r.d.log)
		}
		if r.st.State != api.PinPinned {
			return nil, fmt.Errorf("pin on %s: %s: %s (log %s)", r.d.host.Port, r.st.State, r.st.Error, r.d.log)
		}
	}
	return out, nil
}

// seed is the run's seed: the simulator's default when unset.
func (e *emulation) seed() uint64 { return cmp.Or(e.opt.Seed, 1) }

// pinNode pins root on d from start on. When d's failure strikes, the pin
// ends failed (crash, stop for good) or starts over on the daemon that
// comes back (stop with For); its time counts from start either way.
func (e *emulation) pinNode(ctx context.Context, start time.Time, d *daemon, root cid.Cid, nf *nodeFailure) pinResult {
	select {
	case <-ctx.Done():
		return pinResult{d: d, err: ctx.Err()}
	case <-time.After(time.Until(start)):
	}
	res := pinResult{d: d}
	if nf != nil {
		res.failure = &nf.f
	}
	for {
		_, err := d.client.Pin(ctx, root, e.origin.URL)
		var st api.PinStatus
		if err == nil {
			st, err = d.client.WaitPin(ctx, root, 100*time.Millisecond, nil)
		}
		res.d, res.seconds, res.st, res.err = d, time.Since(start).Seconds(), st, err
		if err == nil && st.State == api.PinPinned || nf == nil {
			return res
		}
		select {
		case <-nf.down:
		default:
			return res // failed on its own, not by the scenario
		}
		if nf.f.Kind == scenario.KindCrash || nf.f.For == 0 {
			res.gone = true
			return res
		}
		select {
		case <-ctx.Done():
			res.err = ctx.Err()
			return res
		case d = <-nf.back:
		}
		if d == nil {
			res.err = nf.err
			return res
		}
	}
}

// failAt strikes nf at t0 + At. crash: SIGKILL of the daemon's process
// group, nobody told. stop: SIGTERM, a graceful shutdown that closes the
// daemon's connections, so peers drop it from their view at once as the
// simulator assumes; with For, the daemon starts again after For with the
// same data folder (same identity and blocks) and pins again.
func (e *emulation) failAt(ctx context.Context, pinsDone <-chan struct{}, t0 time.Time, d *daemon, nf *nodeFailure) {
	select {
	case <-ctx.Done():
		return
	case <-pinsDone:
		return
	case <-time.After(time.Until(t0.Add(nf.f.At))):
	}
	e.log.Info("failure strikes", "node", d.host.Port, "kind", nf.f.Kind)
	close(nf.down)
	if nf.f.Kind == scenario.KindCrash {
		d.kill()
		return
	}
	d.stop(10 * time.Second)
	if nf.f.For == 0 {
		return
	}
	select {
	case <-ctx.Done():
		return
	case <-pinsDone:
		return // it had finished before it stopped
	case <-time.After(time.Until(t0.Add(nf.f.At + nf.f.For))):
	}
	e.forget(d)
	back, err := e.start(ctx, d.host, d.cfg, d.log)
	if err != nil {
		nf.err = fmt.Errorf("restart after stop: %w", err)
		nf.back <- nil
		return
	}
	e.log.Info("back after stop", "node", d.host.Port)
	nf.back <- back
}

// report assembles the measurements: nginx's log per region, the router's
// counters since before the pins, and each daemon's own stats.
func (e *emulation) report(ctx context.Context, pins []pinResult, before routerStats, rtt map[string]float64) (*Report, error) {
	sc := e.sc
	size := sc.Dataset.Size
	rep := &Report{
		Nodes: len(e.top.Nodes), Regions: len(e.top.Regions), DatasetBytes: size,
		RegionNames: e.top.Regions, RTTms: rtt, Seed: e.seed(),
		OriginBytesPerRegion: make([]int64, len(e.top.Regions)),
	}
	// nginx logs a request after its last byte: let the log settle.
	time.Sleep(300 * time.Millisecond)
	byClient, err := e.origin.bytesByClient()
	if err != nil {
		return nil, fmt.Errorf("origin log: %w", err)
	}
	for a, c := range byClient {
		b := a.As4()
		if r := int(b[1]) - 1; b[0] == 10 && r >= 0 && r < len(e.top.Regions) && a != e.top.Origin.Addr {
			rep.OriginBytesPerRegion[r] += c.BodyBytes
		}
	}
	res := StrategyResult{Name: "coordinated", OriginBytesRatioPerRegion: make([]float64, len(e.top.Regions))}
	var total int64
	for r, b := range rep.OriginBytesPerRegion {
		total += b
		res.OriginBytesRatioPerRegion[r] = float64(b) / float64(size)
	}
	res.OriginBytesRatio = float64(total) / float64(size)

	after, err := e.router.stats(ctx)
	if err != nil {
		return nil, err
	}
	rep.Dropped = after.Unrouted - before.Unrouted
	rep.RouterCPUS = after.CPUSeconds - before.CPUSeconds
	rep.RouterOffload = after.Offload
	prev := map[[2]string]wan.LinkStats{}
	for _, l := range before.Links {
		prev[[2]string{l.Src, l.Dst}] = l
	}
	for _, l := range after.Links {
		p := prev[[2]string{l.Src, l.Dst}]
		lb := LinkBytes{Src: l.Src, Dst: l.Dst, Bytes: l.Bytes - p.Bytes, Packets: l.Packets - p.Packets, Frames: l.Frames - p.Frames, Dropped: l.Dropped - p.Dropped}
		rep.Dropped += lb.Dropped
		switch {
		case l.Src == "origin" || l.Dst == "origin":
			rep.OriginLinks = append(rep.OriginLinks, lb)
		case l.Src == l.Dst:
			rep.IntraRegion = append(rep.IntraRegion, lb)
		default:
			rep.CrossRegion = append(rep.CrossRegion, lb)
			res.CrossRegionBytes += lb.Bytes
		}
	}

	secs := make([]float64, 0, len(pins))
	for _, p := range pins {
		np := NodePin{Node: p.d.host.Port, Region: e.top.Regions[p.d.host.Region], Seconds: p.seconds, State: string(p.st.State)}
		if p.failure != nil {
			np.Failure = fmt.Sprintf("%s at %v", p.failure.Kind, p.failure.At)
			if p.failure.For > 0 {
				np.Failure += fmt.Sprintf(" for %v", p.failure.For)
			}
		}
		if p.gone {
			// The simulator's "failed": the node never finishes.
			np.State, np.Seconds = "failed", 0
			res.Failed++
			rep.Pins = append(rep.Pins, np)
			continue
		}
		res.Finished++
		secs = append(secs, p.seconds)
		if st, err := p.d.client.Stats(ctx); err == nil {
			np.OriginBytes, np.PeerBytes, np.CrossRegionBytes = st.BytesBySource.Origin, st.BytesBySource.Peer, st.CrossRegionBytes
		}
		rep.Pins = append(rep.Pins, np)
	}
	res.TimeToPinS = sim.QuantilesOf(secs)
	res.LowerBoundS = lowerBound(e)
	rep.Strategies = []StrategyResult{res}
	return rep, nil
}

// lowerBound is the simulator's bound for the coordinated strategy:
// max(S / slowest NIC, R·S / origin bandwidth), every region reading the
// dataset from the origin once and every node receiving it whole.
func lowerBound(e *emulation) float64 {
	sc := e.sc
	size := float64(sc.Dataset.Size)
	lb := 0.0
	if sc.Origin.Bandwidth > 0 {
		lb = size * float64(len(sc.Regions)) / float64(sc.Origin.Bandwidth)
	}
	for _, h := range e.top.Nodes {
		if h.Rate > 0 {
			lb = max(lb, size/h.Rate)
		}
	}
	return lb
}
