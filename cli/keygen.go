package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	ucli "github.com/urfave/cli/v2"

	"github.com/meshcache/meshcache/mesh/auth"
)

func keygenCommand() *ucli.Command {
	return &ucli.Command{
		Name:      "keygen",
		Usage:     "make a cluster key: daemons started with the same --cluster-key admit each other",
		ArgsUsage: "FILE",
		Action: func(c *ucli.Context) error {
			path := c.Args().First()
			var key bytes.Buffer
			if err := auth.GenerateKey(&key); err != nil {
				return err
			}
			// O_EXCL: never overwrite a key a running cluster may depend on.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s exists already: a cluster key is never overwritten (remove it first if you mean to)", path)
			}
			if err != nil {
				return err
			}
			if _, err := f.Write(key.Bytes()); err != nil {
				f.Close()
				os.Remove(path)
				return fmt.Errorf("write %s: %w", path, err)
			}
			if err := f.Sync(); err != nil {
				f.Close()
				return fmt.Errorf("write %s: %w", path, err)
			}
			if err := f.Close(); err != nil {
				return err
			}
			if _, err := auth.LoadKeys(path); err != nil {
				return fmt.Errorf("check %s: %w", path, err)
			}
			fmt.Fprintf(c.App.Writer, "wrote cluster key %s (mode 0600); give it to every daemon with --cluster-key %s\n", path, path)
			return nil
		},
	}
}
