// Command single benchmarks one meshcache daemon, run from its built binary,
// against baselines measured in the same run and interleaved with it (this
// machine is shared and its page cache volatile, so only ratios from one run
// mean anything): publish against IPFS Kubo's `ipfs add`, reads through the
// socket against Go's http.FileServer, a pin from a loopback nginx against
// curl of the same bytes, and the daemon's peak RSS while pinning datasets of
// two sizes. It prints a Markdown report; scripts/bench.sh builds the binary
// and runs it.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

type config struct {
	meshcache, ipfs, nginx string
	work                   string
	runs, readRuns         int
	firstReads             int
	only                   map[string]bool
	mixed                  mixedLayout
	readSize               int64
	rssSizes               []int64
	keep                   bool
}

func main() {
	if n, ok := os.LookupEnv(quicServeEnv); ok {
		os.Exit(serveQUICChild(n))
	}
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &bench{cfg: cfg, ctx: ctx}
	os.Exit(b.main())
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("single", flag.ContinueOnError)
	var c config
	var only, big, smallAvg, readSize, rss string
	fs.StringVar(&c.meshcache, "meshcache", "", "the built meshcache binary (required)")
	fs.StringVar(&c.ipfs, "ipfs", "/work/.kubo-bin/ipfs", "IPFS Kubo binary")
	fs.StringVar(&c.nginx, "nginx", "/usr/sbin/nginx", "nginx binary")
	fs.StringVar(&c.work, "work", "", "work directory (default: a new temporary one, removed afterwards)")
	fs.IntVar(&c.runs, "runs", 5, "rounds of each interleaved comparison")
	fs.IntVar(&c.readRuns, "read-runs", 9, "rounds of the read comparison (reads are quick and noisy)")
	fs.IntVar(&c.firstReads, "first-reads", 3, "reads right after a daemon restart")
	fs.StringVar(&only, "only", "publish,read,pin,pinpeer,rss", "benchmarks to run")
	fs.StringVar(&big, "big", "512MiB", "size of the large file of the publish/pin dataset")
	fs.IntVar(&c.mixed.Small, "small", 4096, "small files in the publish/pin dataset")
	fs.StringVar(&smallAvg, "small-avg", "128KiB", "average small-file size")
	fs.StringVar(&readSize, "read", "1GiB", "size of the file read through the socket")
	fs.StringVar(&rss, "rss", "1GiB,4GiB,8GiB", "dataset sizes published and pinned to measure peak RSS")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.meshcache == "" {
		return c, fmt.Errorf("-meshcache BINARY is required")
	}
	c.mixed.SmallPerDir = 256
	c.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		c.only[strings.TrimSpace(s)] = true
	}
	var err error
	for _, p := range []struct {
		s   string
		dst *int64
	}{{big, &c.mixed.Big}, {smallAvg, &c.mixed.SmallAvg}, {readSize, &c.readSize}} {
		if *p.dst, err = parseSize(p.s); err != nil {
			return c, err
		}
	}
	for _, s := range strings.Split(rss, ",") {
		n, err := parseSize(s)
		if err != nil {
			return c, err
		}
		c.rssSizes = append(c.rssSizes, n)
	}
	return c, nil
}

// bench is one run of the benchmarks; its report collects Markdown.
type bench struct {
	cfg    config
	ctx    context.Context
	report strings.Builder

	pubDir  string // the publish/pin dataset (the origin folder)
	pubSize int64
	pubRoot string // its root CID as meshcache publishes it
}

func (b *bench) main() int {
	if b.cfg.work == "" {
		dir, err := os.MkdirTemp("", "meshcache-bench-")
		if err != nil {
			fatalf("%v", err)
		}
		b.cfg.work = dir
		if !b.cfg.keep {
			defer os.RemoveAll(dir)
		}
	}
	b.header()
	steps := []struct {
		name string
		fn   func()
	}{{"publish", b.benchPublish}, {"read", b.benchRead}, {"pin", b.benchPin}, {"pinpeer", b.benchPinPeer}, {"rss", b.benchRSS}}
	for _, s := range steps {
		if !b.cfg.only[s.name] {
			continue
		}
		t0 := time.Now()
		logf("== %s", s.name)
		s.fn()
		logf("== %s took %s", s.name, time.Since(t0).Round(time.Second))
		if b.ctx.Err() != nil {
			return 1
		}
	}
	out := b.report.String()
	fmt.Print(out)
	if err := os.WriteFile(filepath.Join(b.cfg.work, "report.md"), []byte(out), 0o644); err != nil {
		logf("write report: %v", err)
	}
	return 0
}

func (b *bench) header() {
	load, _ := os.ReadFile("/proc/loadavg")
	host, _ := os.Hostname()
	b.printf("Machine: %s, %d cores (GOMAXPROCS %d), %s; load average at start %s.\n",
		host, runtime.NumCPU(), runtime.GOMAXPROCS(0), memTotal(), strings.Join(strings.Fields(string(load))[:3], " "))
	b.printf("Rounds per comparison: %d (reads: %d, first reads: %d); medians shown; a ratio is the median of per-round ratios.\n\n", b.cfg.runs, b.cfg.readRuns, b.cfg.firstReads)
}

func (b *bench) printf(format string, args ...any) { fmt.Fprintf(&b.report, format, args...) }

// ensurePubDataset generates the publish/pin dataset once.
func (b *bench) ensurePubDataset() {
	if b.pubDir != "" {
		return
	}
	b.pubDir = filepath.Join(b.cfg.work, "pub")
	t0 := time.Now()
	n, err := genMixed(b.pubDir, b.cfg.mixed, 1)
	if err != nil {
		fatalf("generate dataset: %v", err)
	}
	b.pubSize = n
	logf("generated %s in %s (%s + %d files)", mib(n), time.Since(t0).Round(time.Millisecond), mib(b.cfg.mixed.Big), b.cfg.mixed.Small)
}

// daemonDir is a fresh directory for a daemon.
func (b *bench) daemonDir(name string) string {
	return filepath.Join(b.cfg.work, name)
}

// settle writes back dirty pages left by the previous run, so that no run
// pays for another's writeback.
func settle() {
	syscall.Sync()
}

func memTotal() string {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			var kb int64
			fmt.Sscan(rest, &kb)
			return fmt.Sprintf("%.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	return "unknown RAM"
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// fatalf reports and exits; daemons and nginx die with the bench (their
// parent-death signal).
func fatalf(format string, args ...any) {
	logf("FATAL "+format, args...)
	os.Exit(1)
}

func must(err error, what string) {
	if err != nil {
		fatalf("%s: %v", what, err)
	}
}

// parseSize parses 512MiB, 4GiB, 128KiB or a byte count.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}}
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = v, u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want e.g. 512MiB", s)
	}
	return n * mult, nil
}
