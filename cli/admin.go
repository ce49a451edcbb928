package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/meshcache/meshcache/api"
)

const pollEvery = 100 * time.Millisecond

func publishCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "publish",
		Usage:     "publish the files under an origin URL as a dataset; prints its root CID last",
		ArgsUsage: "ORIGIN_URL",
		Flags: []ucli.Flag{
			&ucli.BoolFlag{Name: "no-store", Usage: "keep only the metadata locally (for datasets larger than this node's disk)"},
			&ucli.StringFlag{Name: "files", Usage: "publish the paths listed in `FILE` (one per line, relative to ORIGIN_URL), for HTTP servers without a JSON index"},
		},
		Action: func(c *ucli.Context) error {
			req := api.PublishRequest{Origin: c.Args().First(), NoStore: c.Bool("no-store")}
			if f := c.String("files"); f != "" {
				files, err := readFileList(f)
				if err != nil {
					return err
				}
				req.Files = files
			}
			cl := client(c)
			st, err := cl.Publish(c.Context, req)
			if err != nil {
				return err
			}
			bar := newProgress(c.App.ErrWriter, "publish")
			st, err = cl.WaitPublish(c.Context, st.ID, pollEvery, func(s api.PublishStatus) {
				bar.update(s.BytesDone, s.BytesTotal, fmt.Sprintf("%d/%d files", s.FilesDone, s.FilesTotal))
			})
			bar.finish()
			if err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, st.Root)
			return nil
		},
	}
}

func readFileList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--files: %w", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--files %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--files %s lists no files", path)
	}
	return out, nil
}

func pinCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "pin",
		Usage:     "make every block of a dataset local and keep it",
		ArgsUsage: "CID",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "origin", Usage: "origin `URL` to read from when this node does not know the dataset (or to read it through another origin serving the same files)"},
			&ucli.BoolFlag{Name: "detach", Usage: "return once the pin is accepted instead of waiting for it"},
		},
		Action: func(c *ucli.Context) error {
			root, err := parseRoot(c.Args().First())
			if err != nil {
				return err
			}
			cl := client(c)
			st, err := cl.Pin(c.Context, root, c.String("origin"))
			if err != nil {
				return err
			}
			if c.Bool("detach") {
				fmt.Fprintf(c.App.Writer, "%s %s\n", st.CID, st.State)
				return nil
			}
			bar := newProgress(c.App.ErrWriter, "pin")
			st, err = cl.WaitPin(c.Context, root, pollEvery, func(s api.PinStatus) {
				bar.update(s.BytesDone, s.BytesTotal, sourceDetail(s.BySource))
			})
			bar.finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "pinned %s: %s (%s)\n", st.CID, formatBytes(st.BytesTotal), sourceDetail(st.BySource))
			return nil
		},
	}
}

func sourceDetail(s api.SourceBytes) string {
	return fmt.Sprintf("local %s, peers %s, origin %s", formatBytes(s.Local), formatBytes(s.Peer), formatBytes(s.Origin))
}

func unpinCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "unpin",
		Usage:     "stop keeping a dataset (its blocks become evictable)",
		ArgsUsage: "CID",
		Action: func(c *ucli.Context) error {
			root, err := parseRoot(c.Args().First())
			if err != nil {
				return err
			}
			return client(c).Unpin(c.Context, root)
		},
	}
}

func lsCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "ls",
		Usage: "list pins with their state and size",
		Action: func(c *ucli.Context) error {
			pins, err := client(c).Pins(c.Context)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CID\tSTATE\tSIZE\tDONE\tORIGIN")
			for _, p := range pins {
				done := "-"
				if p.BytesTotal > 0 {
					done = fmt.Sprintf("%.1f%%", 100*float64(p.BytesDone)/float64(p.BytesTotal))
				}
				state := string(p.State)
				if p.Error != "" {
					state += ": " + p.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.CID, state, formatBytes(p.BytesTotal), done, p.Origin)
			}
			return tw.Flush()
		},
	}
}

func gcCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "gc",
		Usage: "delete every block no pin reaches",
		Action: func(c *ucli.Context) error {
			res, err := client(c).GC(c.Context)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "removed %d blocks, %s\n", res.BlocksRemoved, formatBytes(res.BytesRemoved))
			return nil
		},
	}
}

func statCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "stat",
		Usage: "show store use, pins and bytes by source",
		Action: func(c *ucli.Context) error {
			st, err := client(c).Stats(c.Context)
			if err != nil {
				return err
			}
			w := c.App.Writer
			capacity := "unlimited"
			if st.Store.Capacity > 0 {
				capacity = formatBytes(st.Store.Capacity)
			}
			fmt.Fprintf(w, "store:    %d blocks, %s of %s (%s pinned)\n", st.Store.Blocks, formatBytes(st.Store.Bytes), capacity, formatBytes(st.Store.PinnedBytes))
			fmt.Fprintf(w, "pins:     %d (%d pinned, %d in progress, %d failed)\n", st.Pins.Total, st.Pins.Pinned, st.Pins.Pinning, st.Pins.Failed)
			fmt.Fprintf(w, "fetched:  %s\n", sourceDetail(st.BytesBySource))
			fmt.Fprintf(w, "corrupt:  %d blocks quarantined; evicted %d blocks (%s)\n", st.Store.Corrupt, st.Store.Evicted, formatBytes(st.Store.EvictedBytes))
			for _, o := range st.Origins {
				fmt.Fprintf(w, "origin:   %s read %s\n", o.Origin, formatBytes(o.BytesRead))
			}
			return nil
		},
	}
}
