package emulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/meshcache/meshcache/simulations/wan"
)

// RouterEnv is the environment variable carrying a RouterSpec (JSON) to the
// router process the harness starts in the wan namespace.
const RouterEnv = "MESHCACHE_EMULATE_ROUTER"

// RouterSpec configures the router process.
type RouterSpec struct {
	Tun   string     `json:"tun"`
	Sites []wan.Site `json:"sites"`
	Links []LinkSpec `json:"links"`
	// Socket is where the process serves GET /stats (wan.Stats as JSON).
	Socket string `json:"socket"`
}

// LinkSpec is one directed link of a RouterSpec.
type LinkSpec struct {
	Src   int           `json:"src"`
	Dst   int           `json:"dst"`
	Delay time.Duration `json:"delay"`
	Rate  float64       `json:"rate"`
}

// RunRouter creates the TUN in the calling process's namespace and routes
// until ctx ends, serving its counters on spec.Socket. The router is a
// process of its own (not a goroutine of the harness) so its speed does not
// depend on how the harness was built (a -race test binary is several
// times slower per packet).
//
// The TUN takes GSO super-packets (wan.OpenOffloadTUN): all peer traffic
// inside a region passes the router, and one read and write per 64 KiB
// instead of per 1500 bytes is what makes that affordable. A kernel
// without those offloads gets a plain TUN and a warning.
func RunRouter(ctx context.Context, spec RouterSpec, log *slog.Logger) error {
	vnet := true
	tun, err := wan.OpenOffloadTUN("", spec.Tun)
	if err != nil {
		log.Warn("router: no TUN offloads; every packet crosses the router on its own", "err", err)
		vnet = false
		if tun, err = wan.OpenTUN("", spec.Tun); err != nil {
			return err
		}
	}
	links := map[wan.Pair]wan.Link{}
	for _, l := range spec.Links {
		links[wan.Pair{Src: l.Src, Dst: l.Dst}] = wan.Link{Delay: l.Delay, Rate: l.Rate}
	}
	r, err := wan.New(wan.Config{Device: tun, VNetHdr: vnet, Sites: spec.Sites, Links: links, Logger: log})
	if err != nil {
		tun.Close()
		return err
	}
	os.Remove(spec.Socket)
	ln, err := net.Listen("unix", spec.Socket)
	if err != nil {
		tun.Close()
		return fmt.Errorf("router stats socket: %w", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(routerStats{Stats: r.Stats(), CPUSeconds: cpuSeconds(), Offload: vnet})
	})}
	go srv.Serve(ln)
	defer srv.Close()
	return r.Run(ctx)
}

// routerStats is what the router process serves: the router's counters,
// the CPU time the process used so far (user + system) and whether its TUN
// has offloads.
type routerStats struct {
	wan.Stats
	CPUSeconds float64 `json:"cpu_s"`
	Offload    bool    `json:"offload"`
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// routerProc is the running router process.
type routerProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	hc   *http.Client
	log  string
}

func startRouterProc(ns string, command []string, spec RouterSpec, logPath string) (*routerProc, error) {
	js, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	cmd, err := startInNamespace(ns, command, []string{RouterEnv + "=" + string(js)}, logPath)
	if err != nil {
		return nil, err
	}
	p := &routerProc{cmd: cmd, done: make(chan struct{}), log: logPath, hc: &http.Client{
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", spec.Socket)
		}},
		Timeout: 10 * time.Second,
	}}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case <-p.done:
			return nil, fmt.Errorf("router exited: %v: %s", p.err, tail(logPath))
		default:
		}
		if _, err := p.stats(context.Background()); err == nil {
			return p, nil
		} else if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("router does not answer: %w: %s", err, tail(logPath))
		}
	}
}

func (p *routerProc) stats(ctx context.Context) (routerStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://router/stats", nil)
	if err != nil {
		return routerStats{}, err
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return routerStats{}, err
	}
	defer resp.Body.Close()
	var st routerStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return routerStats{}, fmt.Errorf("router stats: %w", err)
	}
	return st, nil
}

// stop ends the router (SIGTERM, then SIGKILL) and waits for it.
func (p *routerProc) stop() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// RouterFromEnv runs the router when the harness started this process
// for it ($MESHCACHE_EMULATE_ROUTER set), and reports false otherwise. The
// meshcache binary's hidden `emulate helper` command and the tests' emud
// call it.
func RouterFromEnv(ctx context.Context, logw io.Writer) (bool, error) {
	v, ok := os.LookupEnv(RouterEnv)
	if !ok {
		return false, nil
	}
	var spec RouterSpec
	if err := json.Unmarshal([]byte(v), &spec); err != nil {
		return true, fmt.Errorf("$%s: %w", RouterEnv, err)
	}
	return true, RunRouter(ctx, spec, slog.New(slog.NewTextHandler(logw, nil)))
}

// ErrNoRouter says the router command was started by hand.
var ErrNoRouter = errors.New("$" + RouterEnv + " is not set: this command is started by the emulation harness")
