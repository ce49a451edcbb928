package sim

import (
	"bytes"
	"context"
	"encoding/xml"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshcache/meshcache/simulations/scenario"
)

// BenchmarkScenario10k runs the 10,000-node, 1 TiB example (mixed NICs,
// staggered starts, crashes and stops) with every strategy; its time per
// op is the simulator's wall time for that scenario and cpu-s/op its CPU
// time (docs/simulations.md). The simulator is single-threaded.
func BenchmarkScenario10k(b *testing.B) {
	files, err := filepath.Glob("../scenarios/10k*.json")
	if err != nil || len(files) != 1 {
		b.Fatalf("10k scenario: %v %v", files, err)
	}
	sc, err := scenario.Load(files[0])
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	for b.Loop() {
		rep, err := Run(context.Background(), sc, Options{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Nodes != 10000 || rep.Strategies[0].Finished == 0 {
			b.Fatalf("unexpected report %+v", rep)
		}
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
}

func TestPlot(t *testing.T) {
	sc := threeRegionScenario(t, "64MiB", 30, "2Gbit/s", `{"start": "together"}`, `[]`)
	sc.Sweep = []int{3, 30, 300}
	reports, err := Sweep(context.Background(), sc, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 3 || reports[2].Nodes != 300 {
		t.Fatalf("sweep gave %d reports", len(reports))
	}
	again, err := Sweep(context.Background(), sc, Options{}, reports[1])
	if err != nil || again[1] != reports[1] {
		t.Fatalf("sweep ran the known report again (%v)", err)
	}
	var svg bytes.Buffer
	if err := WritePlot(&svg, "three <regions>", reports); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(svg.Bytes()))
	lines := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			lines++
		}
	}
	// Two time lines (p50, max) and one origin line per strategy.
	if lines != 3*4 {
		t.Errorf("%d polylines, want 12", lines)
	}
	for _, want := range []string{"three &lt;regions&gt;", "nodes (N, log scale)", "× dataset size", AllOrigin, CoordinatedGlobal} {
		if !strings.Contains(svg.String(), want) {
			t.Errorf("plot lacks %q", want)
		}
	}
	if err := WritePlot(&svg, "x", nil); err == nil {
		t.Error("plot of nothing succeeded")
	}
}
