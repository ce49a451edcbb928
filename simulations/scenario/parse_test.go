package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const base = `{
  "name": "t",
  "dataset": {"size": "256MiB", "block_size": "1MiB", "piece_blocks": 16, "files": 4},
  "regions": [
    {"name": "eu", "nodes": 3, "nic": [{"share": 1, "bandwidth": "1Gbit/s"}]},
    {"name": "us", "nodes": 4, "nic": [{"share": 0.5, "bandwidth": "1Gbit/s"}, {"share": 0.5, "bandwidth": "400Mbit/s"}]},
    {"name": "ap", "nodes": 3}
  ],
  "intra_region": {"latency": "1ms"},
  "inter_region": {"latency": "100ms", "bandwidth": "200Mbit/s"},
  "links": [{"a": "eu", "b": "us", "latency": "80ms", "bandwidth": "300Mbit/s"}],
  "origin": {"region": "eu", "bandwidth": "400Mbit/s"},
  "default_nic": "2Gbit/s",
  "pins": {"start": "staggered", "spread": "30s"},
  "failures": [{"fraction": 0.2, "at": "20s", "kind": "crash"}, {"count": 1, "at": "5s", "kind": "stop", "for": "10s", "region": "ap"}],
  "cross_region": true,
  "sweep": [10, 100]
}`

func TestParseExample(t *testing.T) {
	s, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if s.Dataset.Size != 256<<20 || s.Dataset.BlockSize != 1<<20 || s.Dataset.Blocks() != 256 || s.Dataset.PieceBlocks != 16 {
		t.Errorf("dataset %+v", s.Dataset)
	}
	if s.Nodes() != 10 || len(s.Regions) != 3 {
		t.Errorf("Nodes = %d, regions %d", s.Nodes(), len(s.Regions))
	}
	if got := s.LinkBetween("us", "eu"); got.Latency != 80*time.Millisecond || got.Bandwidth != 300e6/8 {
		t.Errorf("LinkBetween(us, eu) = %+v", got)
	}
	if got := s.LinkBetween("ap", "eu"); got.Latency != 100*time.Millisecond || got.Bandwidth != 200e6/8 {
		t.Errorf("LinkBetween(ap, eu) = %+v", got)
	}
	if got := s.LinkBetween("ap", "ap"); got.Latency != time.Millisecond || got.Bandwidth != 0 {
		t.Errorf("LinkBetween(ap, ap) = %+v", got)
	}
	wantNIC := []Rate{125e6, 125e6, 50e6, 50e6}
	for i, w := range wantNIC {
		if got := s.NodeNIC("us", i); got != w {
			t.Errorf("NodeNIC(us, %d) = %v, want %v", i, got, w)
		}
	}
	if got := s.NodeNIC("ap", 0); got != 250e6 {
		t.Errorf("NodeNIC(ap, 0) = %v, want default 2Gbit/s", got)
	}
	if s.ProgressTimeout != DefaultProgressTimeout || s.Pins.Spread != 30*time.Second || !s.CrossRegion {
		t.Errorf("defaults/pins: %+v %v", s.Pins, s.ProgressTimeout)
	}
	if s.Failures[1].For != 10*time.Second || s.Failures[1].Region != "ap" {
		t.Errorf("failure %+v", s.Failures[1])
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse([]byte(`{"dataset": {"size": "64MiB"}, "regions": [{"name": "r", "nodes": 1}], "origin": {"region": "r", "bandwidth": "1Gbit/s"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Dataset.BlockSize != DefaultBlockSize || s.Dataset.PieceBlocks != 64 || s.Dataset.Files != 1 || s.DefaultNIC != DefaultNICRate || s.Pins.Start != StartTogether || s.ProgressTimeout != DefaultProgressTimeout {
		t.Fatalf("defaults not applied: %+v", s)
	}
}

// TestParseErrors: every broken field gives an error that names it.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"unknown rate unit", `"bandwidth": "400Mbit/s"}]}`, `"bandwidth": "1Gbps"}]}`, `regions[1].nic[1].bandwidth: "1Gbps": unknown unit`},
		{"unknown size unit", `"size": "256MiB"`, `"size": "256Mb"`, `dataset.size: "256Mb": unknown unit`},
		{"bad duration", `"spread": "30s"`, `"spread": "30"`, `pins.spread: "30": not a duration`},
		{"zero dataset", `"size": "256MiB"`, `"size": "0"`, `dataset.size: must be positive`},
		{"block larger than dataset", `"block_size": "1MiB"`, `"block_size": "1GiB"`, `dataset.block_size: 1073741824 bytes is larger`},
		{"region without nodes", `"name": "ap", "nodes": 3`, `"name": "ap", "nodes": 0`, `regions[2].nodes: must be at least 1`},
		{"duplicate region", `"name": "ap"`, `"name": "eu"`, `regions[2].name: "eu" appears twice`},
		{"bad share", `"share": 1,`, `"share": -1,`, `regions[0].nic[0].share: must be positive`},
		{"link to unknown region", `"a": "eu", "b": "us"`, `"a": "eu", "b": "mars"`, `links[0].b: unknown region "mars"`},
		{"link to itself", `"a": "eu", "b": "us"`, `"a": "eu", "b": "eu"`, `links[0]: links a region to itself`},
		{"origin region", `"region": "eu", "bandwidth": "400Mbit/s"`, `"region": "mars", "bandwidth": "400Mbit/s"`, `origin.region: unknown region "mars"`},
		{"origin bandwidth", `"region": "eu", "bandwidth": "400Mbit/s"`, `"region": "eu"`, `origin.bandwidth: must be positive`},
		{"pin mode", `"start": "staggered"`, `"start": "sometimes"`, `pins.start: "sometimes"`},
		{"together with spread", `"start": "staggered"`, `"start": "together"`, `pins.spread: only for start "staggered"`},
		{"fraction and count", `"fraction": 0.2,`, `"fraction": 0.2, "count": 2,`, `failures[0]: give fraction or count, not both`},
		{"fraction above 1", `"fraction": 0.2,`, `"fraction": 1.5,`, `failures[0].fraction: must be in (0, 1]`},
		{"count above pool", `"count": 1,`, `"count": 4,`, `failures[1].count: 4 failures among 3 nodes`},
		{"failure kind", `"kind": "crash"`, `"kind": "explode"`, `failures[0].kind: "explode"`},
		{"for on a crash", `"kind": "crash"`, `"kind": "crash", "for": "1s"`, `failures[0].for: only a stop comes back`},
		{"sweep order", `"sweep": [10, 100]`, `"sweep": [100, 10]`, `sweep[1]: node counts must increase`},
		{"sweep too small", `"sweep": [10, 100]`, `"sweep": [2, 100]`, `sweep[0]: 2 nodes cannot fill 3 regions`},
		{"unknown field", `"cross_region": true`, `"cross_regions": true`, `unknown field "cross_regions"`},
		{"number for a rate", `"default_nic": "2Gbit/s"`, `"default_nic": 2000`, `default_nic: "2000": unknown unit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := strings.Replace(base, tt.old, tt.new, 1)
			if in == base {
				t.Fatalf("test edit %q not found", tt.old)
			}
			_, err := Parse([]byte(in))
			if err == nil {
				t.Fatalf("Parse accepted the scenario")
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q, want it to contain %q and wrap ErrInvalid", err, tt.want)
			}
		})
	}
}

// TestExampleFiles: every scenario shipped in simulations/scenarios loads.
func TestExampleFiles(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.json")
	if err != nil || len(files) < 2 {
		t.Fatalf("example scenarios: %v %v", files, err)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%v", err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

// TestSmallScenarioShape pins what the emulation harness relies on.
func TestSmallScenarioShape(t *testing.T) {
	s, err := Load("../scenarios/small-3x3.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Regions) != 3 || s.Nodes() != 9 || s.Dataset.Size != 256<<20 || s.Dataset.BlockSize != 1<<20 {
		t.Fatalf("small scenario shape changed: %d regions, %d nodes, %d bytes", len(s.Regions), s.Nodes(), s.Dataset.Size)
	}
	if o := s.Origin.Bandwidth.Bits(); o < 200e6 || o > 400e6 {
		t.Errorf("origin %v outside 200-400 Mbit/s", s.Origin.Bandwidth)
	}
	if s.IntraRegion.Latency != time.Millisecond {
		t.Errorf("intra-region latency %v", s.IntraRegion.Latency)
	}
	for _, a := range s.Regions {
		for _, b := range s.Regions {
			if l := s.LinkBetween(a.Name, b.Name).Latency; a.Name != b.Name && (l < 80*time.Millisecond || l > 150*time.Millisecond) {
				t.Errorf("%s-%s latency %v outside 80-150 ms", a.Name, b.Name, l)
			}
		}
	}
}
