package emulate

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/meshcache/meshcache/simulations/scenario"
)

// smallScenario is the scenario CI runs with real daemons.
const smallScenario = "../scenarios/small-3x3.json"

// binaries are the meshcache binary and the router command (emud), built
// once per test process without -race: nine race-instrumented daemons and
// a race-instrumented router would make the pins CPU-bound on two cores.
type binaries struct{ meshcache, emud string }

var build = sync.OnceValues(func() (binaries, error) {
	dir := binDir
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	b := binaries{meshcache: filepath.Join(dir, "meshcache"), emud: filepath.Join(dir, "emud")}
	for bin, pkg := range map[string]string{
		b.meshcache: "github.com/meshcache/meshcache/cmd/meshcache",
		b.emud:      "github.com/meshcache/meshcache/simulations/emulate/emud",
	} {
		cmd := exec.Command(goBin, "build", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return binaries{}, &buildError{out: string(out), err: err}
		}
	}
	return b, nil
})

// options are the run options the tests share.
func (b binaries) options(prefix string) Options {
	return Options{Meshcache: b.meshcache, Router: []string{b.emud}, Prefix: prefix, Logger: testLogger()}
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

// smallRun is the one harness run of the small scenario that the tests of
// this package share (it takes about a minute).
type smallRun struct {
	sc      *scenario.Scenario
	rep     *Report
	err     error
	prefix  string
	daemons []DaemonInfo
	// nsOf maps each daemon's pid to the inode of /proc/PID/ns/net, and
	// nsWant each namespace to the inode of /run/netns/NAME, read while
	// the daemons ran.
	nsOf, nsWant map[string]uint64
	ownNS        uint64
	hostBefore   hostState
}

var small = sync.OnceValue(func() *smallRun {
	r := &smallRun{prefix: DefaultPrefix(), nsOf: map[string]uint64{}, nsWant: map[string]uint64{}}
	r.sc, r.err = scenario.Load(smallScenario)
	if r.err != nil {
		return r
	}
	bins, err := build()
	if err != nil {
		r.err = err
		return r
	}
	r.ownNS, _ = inode("/proc/self/ns/net")
	r.hostBefore, r.err = readHostState()
	if r.err != nil {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	opt := bins.options(r.prefix)
	opt.PinTimeout = 3 * time.Minute
	opt.Inspect = func(ctx context.Context, ds []DaemonInfo) error {
		r.daemons = ds
		for _, d := range ds {
			got, err := inode(filepath.Join("/proc", itoa(d.PID), "ns", "net"))
			if err != nil {
				return err
			}
			want, err := inode(nsPath(d.Namespace))
			if err != nil {
				return err
			}
			r.nsOf[d.Name], r.nsWant[d.Name] = got, want
		}
		return nil
	}
	r.rep, r.err = Run(ctx, r.sc, opt)
	return r
})

// testLogger logs the harness's progress with -v.
func testLogger() *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// binDir holds the binaries build makes; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "emulate-bin-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}
