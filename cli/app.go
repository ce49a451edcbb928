package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ipfs/go-cid"
	ucli "github.com/urfave/cli/v2"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/node"
)

// socketFlag is accepted by every command, before or after its arguments.
// It has neither a default nor an environment variable of its own: the app
// and each command define it, and urfave/cli would let a command's default
// hide a --socket given before the command. socketPath resolves it.
func socketFlag() *ucli.StringFlag {
	return &ucli.StringFlag{
		Name:  "socket",
		Usage: "the daemon's unix socket (default: $" + api.EnvSocket + ", else " + api.DefaultSocketPath() + ")",
	}
}

// socketPath is the --socket given after the command, else the one given
// before it, else "" (the client then applies its own rules: $MESHCACHE_SOCKET,
// else this user's daemon, else the system daemon).
func socketPath(c *ucli.Context) string {
	for _, cc := range c.Lineage() {
		if v := cc.String("socket"); v != "" {
			return v
		}
	}
	return ""
}

// NewApp builds the meshcache command.
func NewApp(stdout, stderr io.Writer) *ucli.App {
	app := &ucli.App{
		Name:                 "meshcache",
		Usage:                "a peer-to-peer dataset cache for GPU clusters",
		Version:              node.Version,
		Writer:               stdout,
		ErrWriter:            stderr,
		Flags:                []ucli.Flag{socketFlag()},
		EnableBashCompletion: false,
		HideHelpCommand:      true,
		ExitErrHandler:       func(*ucli.Context, error) {}, // Main prints and exits
		Commands: []*ucli.Command{
			daemonCommand(),
			publishCommand(),
			pinCommand(),
			unpinCommand(),
			lsCommand(),
			catCommand(),
			getCommand(),
			statCommand(),
			gcCommand(),
			keygenCommand(),
			idCommand(),
			peersCommand(),
			demoCommand(),
			simulateCommand(),
			emulateCommand(),
		},
	}
	app.OnUsageError = usageError("meshcache")
	for _, c := range app.Commands {
		c.Flags = append(c.Flags, socketFlag())
		c.OnUsageError = usageError("meshcache " + c.Name)
		if c.Action != nil {
			c.Before = checkArgs(c)
		}
	}
	return app
}

// Main runs the command line and returns the process's exit code. Errors
// print as one line on stderr.
func Main(args []string, stdout, stderr io.Writer) int {
	app := NewApp(stdout, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.RunContext(ctx, Reorder(app, args)); err != nil {
		fmt.Fprintf(stderr, "meshcache: %s\n", oneLine(err))
		return 1
	}
	return 0
}

// usageError makes a wrong flag the one-line error Main prints; urfave/cli
// would print "Incorrect Usage" and the whole help to stdout, where scripts
// read results.
func usageError(name string) ucli.OnUsageErrorFunc {
	return func(_ *ucli.Context, err error, _ bool) error {
		return fmt.Errorf("%w: see '%s --help'", err, name)
	}
}

// checkArgs refuses a wrong number of positional arguments, which would
// otherwise be ignored.
func checkArgs(c *ucli.Command) ucli.BeforeFunc {
	want := strings.Count(c.ArgsUsage, " ") + 1
	if c.ArgsUsage == "" {
		want = 0
	}
	return func(ctx *ucli.Context) error {
		if n := ctx.NArg(); n != want {
			return fmt.Errorf("%s takes %d argument(s) (%s), got %d: see 'meshcache %s --help'", c.Name, want, c.ArgsUsage, n, c.Name)
		}
		return nil
	}
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func client(c *ucli.Context) *api.Client {
	return &api.Client{SocketPath: socketPath(c)}
}

// parseRoot parses a CID argument with a message that says what is wrong.
func parseRoot(s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, fmt.Errorf("%q is not a CID: %w", s, err)
	}
	return c, nil
}

// parseCIDPath splits CID/PATH.
func parseCIDPath(s string) (cid.Cid, string, error) {
	s = strings.TrimPrefix(s, "/ipfs/")
	head, path, _ := strings.Cut(s, "/")
	c, err := parseRoot(head)
	return c, strings.Trim(path, "/"), err
}

// Run is main's body: it exits with Main's code.
func Run() {
	os.Exit(Main(os.Args, os.Stdout, os.Stderr))
}
