package emulate

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/simulations/sim"
	"github.com/meshcache/meshcache/simulations/wan"
)

// pinResult is one node's pin as the harness saw it.
type pinResult struct {
	d       *daemon
	seconds float64
	st      api.PinStatus
	err     error
}

// pinAll pins root on every node, at the scenario's start pattern, and
// waits for every pin to finish.
func (e *emulation) pinAll(ctx context.Context, root cid.Cid) ([]pinResult, error) {
	if len(e.sc.Failures) > 0 {
		e.log.Warn("the scenario's failures are not emulated; every node pins to the end")
	}
	ctx, cancel := context.WithTimeout(ctx, e.opt.PinTimeout)
	defer cancel()
	ds := e.daemonsNow()
	out := make([]pinResult, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		offset := time.Duration(0)
		if e.sc.Pins.Start == "staggered" && len(ds) > 1 {
			offset = e.sc.Pins.Spread * time.Duration(i) / time.Duration(len(ds)-1)
		}
		wg.Go(func() {
			select {
			case <-ctx.Done():
				out[i] = pinResult{d: d, err: ctx.Err()}
				return
			case <-time.After(offset):
			}
			start := time.Now()
			_, err := d.client.Pin(ctx, root, e.origin.URL)
			var st api.PinStatus
			if err == nil {
				st, err = d.client.WaitPin(ctx, root, 100*time.Millisecond, nil)
			}
			out[i] = pinResult{d: d, seconds: time.Since(start).Seconds(), st: st, err: err}
		})
	}
	wg.Wait()
	for _, r := range out {
		if r.err != nil {
			return nil, fmt.Errorf("pin on %s: %w (log %s)", r.d.host.Port, r.err, r.d.log)
		}
		if r.st.State != api.PinPinned {
			return nil, fmt.Errorf("pin on %s: %s: %s (log %s)", r.d.host.Port, r.st.State, r.st.Error, r.d.log)
		}
	}
	return out, nil
}

// report assembles the measurements: nginx's log per region, the router's
// counters since before the pins, and each daemon's own stats.
func (e *emulation) report(ctx context.Context, pins []pinResult, before wan.Stats, rtt map[string]float64) (*Report, error) {
	sc := e.sc
	size := sc.Dataset.Size
	rep := &Report{
		Nodes: len(e.top.Nodes), Regions: len(e.top.Regions), DatasetBytes: size,
		RegionNames: e.top.Regions, RTTms: rtt,
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
	rep.Dropped = after.Unrouted
	prev := map[[2]string]wan.LinkStats{}
	for _, l := range before.Links {
		prev[[2]string{l.Src, l.Dst}] = l
	}
	for _, l := range after.Links {
		p := prev[[2]string{l.Src, l.Dst}]
		lb := LinkBytes{Src: l.Src, Dst: l.Dst, Bytes: l.Bytes - p.Bytes, Packets: l.Packets - p.Packets}
		rep.Dropped += l.Dropped
		if l.Src == "origin" || l.Dst == "origin" {
			rep.OriginLinks = append(rep.OriginLinks, lb)
			continue
		}
		rep.CrossRegion = append(rep.CrossRegion, lb)
		res.CrossRegionBytes += lb.Bytes
	}

	secs := make([]float64, 0, len(pins))
	for _, p := range pins {
		secs = append(secs, p.seconds)
		np := NodePin{Node: p.d.host.Port, Region: e.top.Regions[p.d.host.Region], Seconds: p.seconds, State: string(p.st.State)}
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
