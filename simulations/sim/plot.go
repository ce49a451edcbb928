package sim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
)

// plotColors are per strategy, in Options order.
var plotColors = map[string]string{
	AllOrigin:          "#d62728",
	PeersUncoordinated: "#ff7f0e",
	Coordinated:        "#1f77b4",
	CoordinatedGlobal:  "#2ca02c",
}

// panel is one log-log chart: a metric of each strategy against N.
type panel struct {
	title, ylabel string
	x0, y0, w, h  float64
	metric        func(StrategyResult) float64
}

// WritePlot draws an SVG with two panels, time to pin (p50 solid, max
// dashed) and origin bytes as multiples of the dataset, against the node
// count, one line per strategy, from a sweep's reports.
func WritePlot(out io.Writer, title string, reports []*Report) error {
	if len(reports) == 0 {
		return fmt.Errorf("plot: no reports")
	}
	var b bytes.Buffer
	const width, height = 980, 470
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="22" text-anchor="middle" font-size="15">%s</text>`+"\n", width/2, esc(title))
	panels := []panel{
		{"Time to pin (solid p50, dashed max)", "seconds", 70, 50, 360, 320, func(s StrategyResult) float64 { return s.TimeToPinS.P50 }},
		{"Origin bytes", "× dataset size", 550, 50, 360, 320, func(s StrategyResult) float64 { return s.OriginBytesRatio }},
	}
	names := strategyNames(reports)
	for pi, p := range panels {
		extra := []func(StrategyResult) float64{p.metric}
		if pi == 0 {
			extra = append(extra, func(s StrategyResult) float64 { return s.TimeToPinS.Max })
		}
		p.draw(&b, reports, names, extra)
	}
	// Legend.
	for i, name := range names {
		x := 120 + float64(i)*200
		fmt.Fprintf(&b, `<line x1="%.0f" y1="440" x2="%.0f" y2="440" stroke="%s" stroke-width="3"/>`, x, x+30, plotColors[name])
		fmt.Fprintf(&b, `<text x="%.0f" y="444">%s</text>`+"\n", x+36, esc(name))
	}
	b.WriteString("</svg>\n")
	_, err := out.Write(b.Bytes())
	return err
}

func strategyNames(reports []*Report) []string {
	var names []string
	seen := map[string]bool{}
	for _, r := range reports {
		for _, s := range r.Strategies {
			if !seen[s.Name] {
				seen[s.Name] = true
				names = append(names, s.Name)
			}
		}
	}
	return names
}

// draw plots metrics[0] solid and any further metric dashed.
func (p panel) draw(b *bytes.Buffer, reports []*Report, names []string, metrics []func(StrategyResult) float64) {
	xmin, xmax := math.Inf(1), math.Inf(-1)
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, r := range reports {
		xmin, xmax = min(xmin, float64(r.Nodes)), max(xmax, float64(r.Nodes))
		for _, s := range r.Strategies {
			for _, m := range metrics {
				if v := m(s); v > 0 {
					ymin, ymax = min(ymin, v), max(ymax, v)
				}
			}
		}
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 1, 10
	}
	lx0, lx1 := math.Floor(math.Log10(xmin)), math.Ceil(math.Log10(xmax))
	ly0, ly1 := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
	if lx1 == lx0 {
		lx1++
	}
	if ly1 == ly0 {
		ly1++
	}
	px := func(v float64) float64 { return p.x0 + (math.Log10(v)-lx0)/(lx1-lx0)*p.w }
	py := func(v float64) float64 { return p.y0 + p.h - (math.Log10(v)-ly0)/(ly1-ly0)*p.h }
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle" font-size="13">%s</text>`+"\n", p.x0+p.w/2, p.y0-10, esc(p.title))
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="black"/>`+"\n", p.x0, p.y0, p.w, p.h)
	for e := lx0; e <= lx1; e++ {
		x := px(math.Pow(10, e))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="#ddd"/><text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`+"\n", x, p.y0, x, p.y0+p.h, x, p.y0+p.h+16, tick(e))
	}
	for e := ly0; e <= ly1; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/><text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", p.x0, y, p.x0+p.w, y, p.x0-6, y+4, tick(e))
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">nodes (N, log scale)</text>`+"\n", p.x0+p.w/2, p.y0+p.h+34)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle" transform="rotate(-90 %.0f %.0f)">%s (log scale)</text>`+"\n", p.x0-48, p.y0+p.h/2, p.x0-48, p.y0+p.h/2, esc(p.ylabel))
	for _, name := range names {
		for mi, m := range metrics {
			var pts bytes.Buffer
			for _, r := range reports {
				s := r.Strategy(name)
				if s == nil || m(*s) <= 0 {
					continue
				}
				x, y := px(float64(r.Nodes)), py(m(*s))
				fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
				fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x, y, plotColors[name])
			}
			dash := ""
			if mi > 0 {
				dash = ` stroke-dasharray="5,4"`
			}
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", bytes.TrimSpace(pts.Bytes()), plotColors[name], dash)
		}
	}
}

// tick labels 10^e: plain numbers from 0.01 to 100,000, else 1e<e>.
func tick(e float64) string {
	if e >= -2 && e <= 5 {
		return fmt.Sprintf("%g", math.Pow(10, e))
	}
	return fmt.Sprintf("1e%d", int(e))
}

func esc(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
