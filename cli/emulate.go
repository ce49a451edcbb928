package cli

import (
	"encoding/json"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	ucli "github.com/urfave/cli/v2"

	"github.com/meshcache/meshcache/simulations/emulate"
	"github.com/meshcache/meshcache/simulations/scenario"
)

func emulateCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "emulate",
		Usage:     "run a scenario with real daemons in network namespaces (root; Linux)",
		ArgsUsage: "SCENARIO_FILE",
		Description: `Builds the scenario's regions as network namespaces joined by a user-space
WAN router (latency and bandwidth per region pair), starts a daemon per node
and nginx as the origin, pins the dataset on every node and prints what was
measured: origin bytes per region (from nginx's log), cross-region bytes
(from the router) and time to pin. Everything is torn down at the end, also
on failure or Ctrl-C. Namespaces are named PREFIX-* (--prefix, default
mce<pid%10000>); ` + "`meshcache emulate --cleanup PREFIX`" + ` removes the leftovers of a
run that was killed (its argument is then the prefix, not a file).`,
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&ucli.BoolFlag{Name: "keep", Usage: "leave namespaces, daemons' data and logs in place"},
			&ucli.BoolFlag{Name: "cleanup", Usage: "remove the namespaces PREFIX-* (the argument is the PREFIX) and exit"},
			&ucli.StringFlag{Name: "prefix", Usage: "name prefix of the namespaces (default mce<pid%10000>)"},
			&ucli.StringFlag{Name: "dir", Usage: "work folder (default a temp folder, removed at the end)"},
			&ucli.BoolFlag{Name: "verbose", Usage: "log progress to stderr"},
			&ucli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed for staggered starts and failing nodes (the same draw as meshcache simulate --seed)"},
		},
		Subcommands: []*ucli.Command{{
			Name:   "helper",
			Hidden: true,
			Usage:  "run the emulation's WAN router (started by the harness in its namespace)",
			Action: func(c *ucli.Context) error {
				ok, err := emulate.RouterFromEnv(c.Context, c.App.ErrWriter)
				if !ok {
					return emulate.ErrNoRouter
				}
				return err
			},
		}},
		Action: runEmulate,
	}
}

func runEmulate(c *ucli.Context) error {
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if c.Bool("cleanup") {
		return emulate.Cleanup(ctx, c.Args().First())
	}
	sc, err := scenario.Load(c.Args().First())
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	if c.Bool("verbose") {
		log = slog.New(slog.NewTextHandler(c.App.ErrWriter, nil))
	}
	rep, err := emulate.Run(ctx, sc, emulate.Options{
		Meshcache: exe,
		Router:    []string{exe, "emulate", "helper"},
		Prefix:    c.String("prefix"),
		WorkDir:   c.String("dir"),
		Keep:      c.Bool("keep"),
		Seed:      c.Uint64("seed"),
		Logger:    log,
	})
	if err != nil {
		return err
	}
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteTable(c.App.Writer)
}
