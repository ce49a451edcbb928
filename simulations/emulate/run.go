package emulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/meshcache/meshcache/simulations/scenario"
	"github.com/meshcache/meshcache/simulations/wan"
)

// ErrInjected is the failure Options.FailAfterDaemons injects.
var ErrInjected = errors.New("emulate: injected failure")

// Options configure a run.
type Options struct {
	// Meshcache is the meshcache binary: every node runs `ip netns exec NS
	// Meshcache daemon …`.
	Meshcache string
	// Router runs the WAN router: the harness runs `ip netns exec WAN
	// Router…` with $MESHCACHE_EMULATE_ROUTER set, and the program calls
	// RouterFromEnv ({meshcache, "emulate", "helper"}; the tests build emud).
	Router []string
	// Prefix names everything the run creates (default DefaultPrefix()).
	Prefix string
	// WorkDir holds the dataset, data directories, sockets and logs
	// (default a new temp folder, removed at the end unless Keep).
	WorkDir string
	// Keep leaves the namespaces, daemons' data and logs in place.
	Keep bool
	// FailAfterDaemons > 0 makes the run fail with ErrInjected once that
	// many daemons run, to exercise teardown from halfway.
	FailAfterDaemons int
	// Inspect, if set, is called once every daemon runs and the mesh has
	// formed, before the pins; an error aborts the run.
	Inspect func(ctx context.Context, daemons []DaemonInfo) error
	// DaemonLogLevel is the daemons' log level (default info); their logs
	// are WorkDir/nodes/NAME/daemon.log.
	DaemonLogLevel string
	// PinTimeout bounds the pins (default 10 minutes).
	PinTimeout time.Duration
	// Seed draws the staggered start offsets and the failing nodes
	// exactly as the simulator's seed (sim.Options.Seed) does; 0 means 1,
	// the default of `meshcache simulate --seed`.
	Seed   uint64
	Logger *slog.Logger
}

// DaemonInfo describes a running daemon for Options.Inspect.
type DaemonInfo struct {
	Name      string // rRnI
	Region    string
	Namespace string
	PID       int
	Addr      string
	Socket    string
}

// Run builds the scenario's topology, runs a pin of the dataset on every
// node and returns what was measured. Whatever happens, everything it
// created is torn down before it returns (unless opt.Keep).
func Run(ctx context.Context, sc *scenario.Scenario, opt Options) (rep *Report, err error) {
	if opt.Meshcache == "" || len(opt.Router) == 0 {
		return nil, errors.New("emulate: Options.Meshcache and Options.Router are required")
	}
	if opt.Prefix == "" {
		opt.Prefix = DefaultPrefix()
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.PinTimeout <= 0 {
		opt.PinTimeout = 10 * time.Minute
	}
	if _, err := os.Stat(NginxBinary); err != nil {
		return nil, fmt.Errorf("emulate: the origin server needs %s: %w", NginxBinary, err)
	}
	if err := Cleanup(ctx, opt.Prefix); err != nil {
		return nil, fmt.Errorf("remove leftovers of %s: %w", opt.Prefix, err)
	}
	e := &emulation{sc: sc, opt: opt, log: opt.Logger}
	if e.dir = opt.WorkDir; e.dir == "" {
		if e.dir, err = os.MkdirTemp("", opt.Prefix+"-"); err != nil {
			return nil, err
		}
	}
	defer func() {
		if terr := e.teardown(); terr != nil {
			err = errors.Join(err, terr)
		}
		if err != nil {
			rep = nil
		}
	}()
	return e.run(ctx)
}

// emulation is one run's state: everything teardown must undo.
type emulation struct {
	sc  *scenario.Scenario
	opt Options
	log *slog.Logger
	dir string
	top *topology

	router *routerProc
	origin *originServer

	mu      sync.Mutex
	daemons []*daemon
}

func (e *emulation) run(ctx context.Context) (*Report, error) {
	start := time.Now()
	top, err := planTopology(e.sc, e.opt.Prefix)
	if err != nil {
		return nil, err
	}
	e.top = top
	if err := e.buildNetwork(ctx); err != nil {
		return nil, err
	}
	rtt, err := e.measureRTTs(ctx)
	if err != nil {
		return nil, err
	}
	root, err := e.prepareOrigin(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.startMesh(ctx); err != nil {
		return nil, err
	}
	if e.opt.Inspect != nil {
		if err := e.opt.Inspect(ctx, e.daemonInfo()); err != nil {
			return nil, fmt.Errorf("inspect: %w", err)
		}
	}
	before, err := e.router.stats(ctx)
	if err != nil {
		return nil, err
	}
	pins, err := e.pinAll(ctx, root)
	if err != nil {
		return nil, err
	}
	rep, err := e.report(ctx, pins, before, rtt)
	if err != nil {
		return nil, err
	}
	rep.WallS = time.Since(start).Seconds()
	return rep, nil
}

// buildNetwork creates the wan namespace, starts the router and attaches
// the origin and every node.
func (e *emulation) buildNetwork(ctx context.Context) error {
	e.log.Info("building topology", "prefix", e.top.Prefix, "nodes", len(e.top.Nodes), "regions", len(e.top.Regions))
	if err := e.top.buildWAN(ctx); err != nil {
		return err
	}
	var err error
	spec := routerSpec(e.sc, e.top, e.path("router.sock"))
	if e.router, err = startRouterProc(e.top.WanNS, e.opt.Router, spec, e.path("router.log")); err != nil {
		return err
	}
	if err := e.top.routeIntoTUN(ctx); err != nil {
		return err
	}
	if err := e.top.addHost(ctx, e.top.Origin); err != nil {
		return err
	}
	for _, h := range e.top.Nodes {
		if err := e.top.addHost(ctx, h); err != nil {
			return err
		}
	}
	return nil
}

// routerSpec maps the scenario's links onto the router: site 0 is the
// origin's address (so its traffic is told apart from peer traffic), site
// 1+r region r.
func routerSpec(sc *scenario.Scenario, top *topology, socket string) RouterSpec {
	sites := []wan.Site{{Name: "origin", Prefixes: []netip.Prefix{hostPrefix(top.Origin.Addr)}}}
	for r, name := range top.Regions {
		sites = append(sites, wan.Site{Name: name, Prefixes: []netip.Prefix{regionSubnet(r)}})
	}
	regionOf := func(site int) string {
		if site == 0 {
			return sc.Origin.Region
		}
		return top.Regions[site-1]
	}
	spec := RouterSpec{Tun: tunName, Sites: sites, Socket: socket}
	for s := range sites {
		for d := range sites {
			l := sc.LinkBetween(regionOf(s), regionOf(d))
			ls := LinkSpec{Src: s, Dst: d, Delay: l.Latency, Rate: float64(l.Bandwidth)}
			if s == 0 {
				ls.Delay += sc.Origin.Latency // the origin's own response time
			}
			spec.Links = append(spec.Links, ls)
		}
	}
	return spec
}

// measureRTTs measures the round trip between the first nodes of every
// pair of regions, between two nodes inside each region, and between the
// origin and the first node of its region ("origin-REGION"), before any
// load, all pairs at once (each probe waits a full round trip).
func (e *emulation) measureRTTs(ctx context.Context) (map[string]float64, error) {
	byRegion := map[int][]host{}
	for _, h := range e.top.Nodes {
		byRegion[h.Region] = append(byRegion[h.Region], h)
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	out := map[string]float64{}
	for a := range e.top.Regions {
		// b == a measures inside the region, between its first two nodes.
		for b := a; b < len(e.top.Regions); b++ {
			ha, hb, ok := probePair(byRegion[a], byRegion[b], a == b)
			if !ok {
				continue
			}
			wg.Go(func() {
				d, err := measureRTT(ctx, ha.NS, hb.NS, hb.Addr)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				ms := float64(d) / float64(time.Millisecond)
				out[e.top.Regions[a]+"-"+e.top.Regions[b]] = ms
				out[e.top.Regions[b]+"-"+e.top.Regions[a]] = ms
			})
		}
	}
	// The origin talks to its own region through the router too.
	if nodes := byRegion[e.top.Origin.Region]; len(nodes) > 0 {
		wg.Go(func() {
			d, err := measureRTT(ctx, nodes[0].NS, e.top.Origin.NS, e.top.Origin.Addr)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			out["origin-"+e.top.Regions[e.top.Origin.Region]] = float64(d) / float64(time.Millisecond)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// probePair picks the hosts an RTT probe runs between: the first of each
// region, or the first two of one region.
func probePair(a, b []host, same bool) (host, host, bool) {
	if same {
		if len(a) < 2 {
			return host{}, host{}, false
		}
		return a[0], a[1], true
	}
	if len(a) == 0 || len(b) == 0 {
		return host{}, host{}, false
	}
	return a[0], b[0], true
}

// teardown kills the daemons and nginx, stops the router and deletes the
// namespaces; with Keep it leaves the namespaces and files.
func (e *emulation) teardown() error {
	e.mu.Lock()
	ds := e.daemons
	e.daemons = nil
	e.mu.Unlock()
	for _, d := range ds {
		d.kill()
	}
	if e.origin != nil {
		e.origin.stop()
	}
	var errs []error
	if e.router != nil {
		e.router.stop()
	}
	if e.opt.Keep {
		e.log.Info("keeping the emulation", "prefix", e.opt.Prefix, "dir", e.dir)
		return errors.Join(errs...)
	}
	// A fresh context: teardown must run even when the caller's ended.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := Cleanup(ctx, e.opt.Prefix); err != nil {
		errs = append(errs, err)
	}
	if e.opt.WorkDir == "" && e.dir != "" {
		if err := os.RemoveAll(e.dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *emulation) path(elem ...string) string {
	return filepath.Join(append([]string{e.dir}, elem...)...)
}
