package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/meshcache/meshcache/simulations/scenario"
	"github.com/meshcache/meshcache/simulations/sim"
)

// simulateCommand runs the discrete-event simulator on a scenario file
// (docs/simulations.md): a table or JSON report, and an SVG plot of a
// sweep over node counts with --plot.
func simulateCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "simulate",
		Usage:     "simulate a cluster pinning a dataset and compare fetch strategies",
		ArgsUsage: "SCENARIO_FILE",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&ucli.StringFlag{Name: "plot", Usage: "write an SVG of time to pin and origin bytes against N (the scenario's sweep) to `FILE`"},
			&ucli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed for staggered starts and failing nodes"},
			&ucli.StringFlag{Name: "mode", Value: "auto", Usage: "granularity: block, piece, or auto (block when nodes × blocks is small)"},
			&ucli.StringFlag{Name: "strategies", Usage: "comma-separated strategies (default: all that apply)"},
		},
		Action: func(c *ucli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("simulate: want one SCENARIO_FILE, got %d arguments", c.NArg())
			}
			sc, err := scenario.Load(c.Args().First())
			if err != nil {
				return err
			}
			mode, err := sim.ParseMode(c.String("mode"))
			if err != nil {
				return fmt.Errorf("--mode: %w", err)
			}
			opt := sim.Options{Seed: c.Uint64("seed"), Mode: mode}
			if s := c.String("strategies"); s != "" {
				opt.Strategies = strings.Split(s, ",")
			}
			rep, err := sim.Run(c.Context, sc, opt)
			if err != nil {
				return err
			}
			if path := c.String("plot"); path != "" {
				reports, err := sim.Sweep(c.Context, sc, opt, rep)
				if err != nil {
					return err
				}
				var svg bytes.Buffer
				if err := sim.WritePlot(&svg, sc.Name, reports); err != nil {
					return err
				}
				if err := os.WriteFile(path, svg.Bytes(), 0o644); err != nil {
					return fmt.Errorf("write plot: %w", err)
				}
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			names := make([]string, len(sc.Regions))
			for i, r := range sc.Regions {
				names[i] = r.Name
			}
			return rep.WriteTable(c.App.Writer, names)
		},
	}
}
