package emulate

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/meshcache/meshcache/simulations/sim"
)

// Report is a measured run, in the simulator's report shape (sim.Report's
// JSON fields) plus what only a real run can show.
type Report struct {
	Nodes        int              `json:"nodes"`
	Regions      int              `json:"regions"`
	DatasetBytes int64            `json:"dataset_bytes"`
	Strategies   []StrategyResult `json:"strategies"`
	WallS        float64          `json:"wall_s"`

	RegionNames []string `json:"region_names"`
	// OriginBytesPerRegion is what nginx logged as sent to each region's
	// nodes (body bytes), in region order.
	OriginBytesPerRegion []int64 `json:"origin_bytes_per_region"`
	// CrossRegion is what the WAN router forwarded between regions during
	// the pins (peer traffic, control included; origin traffic apart).
	CrossRegion []LinkBytes `json:"cross_region_links"`
	// IntraRegion is what the router forwarded between nodes of one
	// region (all peer traffic inside a region passes it, for the
	// region's latency).
	IntraRegion []LinkBytes `json:"intra_region_links"`
	// OriginLinks is the origin's traffic that crossed the WAN.
	OriginLinks []LinkBytes `json:"origin_links"`
	// RTTms is the round trip measured with a UDP echo between the first
	// nodes of two regions, keyed "a-b" ("a-a": two nodes of region a;
	// "origin-a": the origin and a node of its region a).
	RTTms map[string]float64 `json:"rtt_ms"`
	Pins  []NodePin          `json:"pins"`
	// Dropped counts what the router dropped (queue full or backlog) or
	// could not route during the pins: frames, a GSO super-packet being one.
	Dropped int64 `json:"router_dropped"`
	// RouterCPUS is the CPU time (user + system) the router process used
	// during the pins; RouterOffload says its TUN took GSO super-packets.
	RouterCPUS    float64 `json:"router_cpu_s"`
	RouterOffload bool    `json:"router_offload"`
	// Seed drew the staggered starts and the failing nodes, as the
	// simulator's seed does.
	Seed uint64 `json:"seed"`
}

// StrategyResult mirrors sim.StrategyResult.
type StrategyResult struct {
	Name                      string    `json:"name"`
	OriginBytesRatio          float64   `json:"origin_bytes_ratio"`
	OriginBytesRatioPerRegion []float64 `json:"origin_bytes_ratio_per_region"`
	CrossRegionBytes          int64     `json:"cross_region_bytes"`
	// TimeToPinS covers the nodes that finished, as the simulator's.
	TimeToPinS  Quantiles `json:"time_to_pin_s"`
	LowerBoundS float64   `json:"lower_bound_s"`
	// Finished and Failed count nodes that completed their pin and nodes
	// a scenario failure took away for good (crash, stop without for).
	Finished int `json:"finished"`
	Failed   int `json:"failed"`
}

// Quantiles are sim's: both tools report times to pin alike.
type Quantiles = sim.Quantiles

// LinkBytes is one directed link's traffic through the router. Bytes and
// Packets count IP packets as on the wire (a GSO super-packet as the
// segments the kernel cuts it into); Frames counts what the router read
// and wrote, super-packets as one.
type LinkBytes struct {
	Src     string `json:"src"`
	Dst     string `json:"dst"`
	Bytes   int64  `json:"bytes"`
	Packets int64  `json:"packets"`
	Frames  int64  `json:"frames"`
	// Dropped counts frames the link's bounded queue dropped.
	Dropped int64 `json:"dropped"`
}

// NodePin is one node's pin.
type NodePin struct {
	Node    string  `json:"node"`
	Region  string  `json:"region"`
	Seconds float64 `json:"seconds"`
	// State is the daemon's pin state, or "failed" for a node a scenario
	// failure took away for good; Failure names the node's failure.
	State   string `json:"state"`
	Failure string `json:"failure,omitempty"`
	// Bytes by source, from the daemon's own /v1/stats (for a node that
	// came back after a stop: since it came back).
	OriginBytes      int64 `json:"origin_bytes"`
	PeerBytes        int64 `json:"peer_bytes"`
	CrossRegionBytes int64 `json:"cross_region_bytes"`
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "emulation: %d nodes in %d regions, dataset %.1f MiB, wall %.1f s\n\n", r.Nodes, r.Regions, float64(r.DatasetBytes)/(1<<20), r.WallS)
	fmt.Fprintln(tw, "STRATEGY\tORIGIN/S\tPER REGION\tCROSS-REGION\tPIN P50\tP99\tMAX\tLOWER BOUND\tFAILED")
	for _, s := range r.Strategies {
		per := ""
		for i, v := range s.OriginBytesRatioPerRegion {
			if i > 0 {
				per += " "
			}
			per += fmt.Sprintf("%s=%.2f", r.RegionNames[i], v)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%s\t%.1f MiB\t%.1f s\t%.1f s\t%.1f s\t%.1f s\t%d\n", s.Name, s.OriginBytesRatio, per,
			float64(s.CrossRegionBytes)/(1<<20), s.TimeToPinS.P50, s.TimeToPinS.P99, s.TimeToPinS.Max, s.LowerBoundS, s.Failed)
	}
	fmt.Fprint(tw, "\nRTT inside regions (through the router):")
	for _, name := range r.RegionNames {
		if v, ok := r.RTTms[name+"-"+name]; ok {
			fmt.Fprintf(tw, " %s %.2f ms", name, v)
		}
		if v, ok := r.RTTms["origin-"+name]; ok {
			fmt.Fprintf(tw, " (origin-%s %.2f ms)", name, v)
		}
	}
	fmt.Fprintf(tw, "\nrouter: %.1f s CPU during the pins, offloads %v, %d frames dropped or unroutable\n", r.RouterCPUS, r.RouterOffload, r.Dropped)
	fmt.Fprintln(tw, "LINK\tBYTES\tPACKETS\tFRAMES\tDROPPED\tRTT")
	for _, ls := range [][]LinkBytes{r.IntraRegion, r.CrossRegion, r.OriginLinks} {
		for _, l := range ls {
			rtt := ""
			if v, ok := r.RTTms[l.Src+"-"+l.Dst]; ok {
				rtt = fmt.Sprintf("%.1f ms", v)
			}
			fmt.Fprintf(tw, "%s→%s\t%d\t%d\t%d\t%d\t%s\n", l.Src, l.Dst, l.Bytes, l.Packets, l.Frames, l.Dropped, rtt)
		}
	}
	fmt.Fprintln(tw, "\nNODE\tREGION\tPIN\tSTATE\tORIGIN\tPEERS\tCROSS-REGION\tFAILURE")
	for _, p := range r.Pins {
		fmt.Fprintf(tw, "%s\t%s\t%.1f s\t%s\t%d\t%d\t%d\t%s\n", p.Node, p.Region, p.Seconds, p.State, p.OriginBytes, p.PeerBytes, p.CrossRegionBytes, p.Failure)
	}
	return tw.Flush()
}
