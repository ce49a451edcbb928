package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ipfs/go-cid"
	ucli "github.com/urfave/cli/v2"

	"github.com/meshcache/meshcache/api"
)

func catCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "cat",
		Usage:     "write a dataset file to standard output",
		ArgsUsage: "CID/PATH",
		Action: func(c *ucli.Context) error {
			root, p, err := parseCIDPath(c.Args().First())
			if err != nil {
				return err
			}
			rc, err := client(c).Open(c.Context, root, p)
			if err != nil {
				return err
			}
			defer rc.Close()
			if _, err := io.Copy(c.App.Writer, rc); err != nil {
				return fmt.Errorf("read %s/%s: %w", root, p, err)
			}
			return nil
		},
	}
}

func getCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "get",
		Usage:     "copy a dataset (or a folder or file of it) to a local directory",
		ArgsUsage: "CID[/PATH] DIR",
		Action: func(c *ucli.Context) error {
			root, p, err := parseCIDPath(c.Args().Get(0))
			if err != nil {
				return err
			}
			dest := c.Args().Get(1)
			cl := client(c)
			info, err := cl.Stat(c.Context, root, p)
			if err != nil {
				return err
			}
			if info.Type == api.TypeFile {
				return copyFile(c.Context, cl, root, p, filepath.Join(dest, path.Base("/"+p)))
			}
			return copyDir(c.Context, cl, root, p, dest)
		},
	}
}

// copyDir copies the dataset folder p into dest, recursively.
func copyDir(ctx context.Context, cl *api.Client, root cid.Cid, p, dest string) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	dir, err := cl.ReadDir(ctx, root, p)
	if err != nil {
		return err
	}
	for _, e := range dir.Entries {
		// Names come from the daemon; never let one climb out of dest.
		if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/\x00") {
			return fmt.Errorf("dataset %s has an unsafe name %q under %q", root, e.Name, p)
		}
		child := path.Join(p, e.Name)
		target := filepath.Join(dest, e.Name)
		if e.Type == api.TypeDir {
			err = copyDir(ctx, cl, root, child, target)
		} else {
			err = copyFile(ctx, cl, root, child, target)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// copyFile writes one file through a temp file so an interrupted copy
// leaves no truncated file under the final name.
func copyFile(ctx context.Context, cl *api.Client, root cid.Cid, p, target string) error {
	rc, err := cl.Open(ctx, root, p)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(target), ".meshcache-get-*")
	if err != nil {
		return err
	}
	if _, err := io.Copy(tmp, rc); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("copy %s/%s: %w", root, p, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}
