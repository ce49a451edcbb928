package sim

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"
)

// Report is what a run measured; the emulation harness produces the same
// shape from real daemons.
type Report struct {
	Nodes        int              `json:"nodes"`
	Regions      int              `json:"regions"`
	DatasetBytes int64            `json:"dataset_bytes"`
	Strategies   []StrategyResult `json:"strategies"`
	WallS        float64          `json:"wall_s"`
	// Mode is the granularity simulated ("block" or "piece").
	Mode string `json:"mode,omitempty"`
}

// StrategyResult is one strategy's outcome.
type StrategyResult struct {
	Name string `json:"name"`
	// OriginBytesRatio is the bytes read from the origin over the dataset
	// size; OriginBytesRatioPerRegion splits it by the reading node's
	// region, in scenario order.
	OriginBytesRatio          float64   `json:"origin_bytes_ratio"`
	OriginBytesRatioPerRegion []float64 `json:"origin_bytes_ratio_per_region"`
	// CrossRegionBytes is the bytes nodes fetched from nodes of other
	// regions (origin reads are not counted).
	CrossRegionBytes int64 `json:"cross_region_bytes"`
	// TimeToPinS is over the nodes that finished: finish − own start.
	TimeToPinS Quantiles `json:"time_to_pin_s"`
	// LowerBoundS is max(S / slowest NIC, origin bytes this strategy must
	// read / origin bandwidth).
	LowerBoundS float64 `json:"lower_bound_s"`
	// Finished and Failed count nodes that completed their pin and nodes
	// that never did (crashed, or stopped for good, before finishing).
	Finished int `json:"finished"`
	Failed   int `json:"failed"`
	// WallS is this strategy's share of the run time.
	WallS float64 `json:"wall_s"`
}

// Quantiles summarise times to pin in seconds.
type Quantiles struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// QuantilesOf uses the nearest-rank method; NaN for no samples would break
// JSON, so an empty set gives zeros. The emulation summarises its measured
// times with it too, so the two tools' figures mean the same.
func QuantilesOf(xs []float64) Quantiles {
	if len(xs) == 0 {
		return Quantiles{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(s)))) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return Quantiles{P50: rank(0.5), P99: rank(0.99), Max: s[len(s)-1]}
}

// Strategy is the result named name, or nil.
func (r *Report) Strategy(name string) *StrategyResult {
	for i := range r.Strategies {
		if r.Strategies[i].Name == name {
			return &r.Strategies[i]
		}
	}
	return nil
}

// WriteTable prints the report as an aligned table.
func (r *Report) WriteTable(w io.Writer, regionNames []string) error {
	fmt.Fprintf(w, "%d nodes in %d regions, dataset %s, %s mode, simulated in %.2fs\n\n", r.Nodes, r.Regions, formatBytes(r.DatasetBytes), r.Mode, r.WallS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "strategy\torigin ×S\tper region ×S\tcross-region\tp50 s\tp99 s\tmax s\tbound s\tmax/bound\tfailed\t\n")
	for _, s := range r.Strategies {
		per := ""
		for i, v := range s.OriginBytesRatioPerRegion {
			if i > 0 {
				per += " "
			}
			if i < len(regionNames) {
				per += regionNames[i] + "="
			}
			per += fmt.Sprintf("%.2f", v)
		}
		ratio := math.Inf(1)
		if s.LowerBoundS > 0 {
			ratio = s.TimeToPinS.Max / s.LowerBoundS
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%d\t\n", s.Name, s.OriginBytesRatio, per,
			formatBytes(s.CrossRegionBytes), s.TimeToPinS.P50, s.TimeToPinS.P99, s.TimeToPinS.Max, s.LowerBoundS, ratio, s.Failed)
	}
	return tw.Flush()
}

func formatBytes(b int64) string {
	v := float64(b)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if v < 1024 || u == "TiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", b)
			}
			return fmt.Sprintf("%.1f %s", v, u)
		}
		v /= 1024
	}
	return ""
}
