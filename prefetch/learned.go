package prefetch

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/dataset"
	"github.com/meshcache/meshcache/internal/atomicfile"
)

// A node often learns a dataset through another origin than the one it was
// published from (a pin given --origin https://mirror/… of a dataset
// published from file:// on another machine), and may not be allowed to
// read the publisher's origin at all. The catalog remembers the origin it
// was last told, beside the index, so that reads after an unpin or a
// restart still go where the operator said.

// learnedPath is the file that holds the origin root was learned through.
func (c *Catalog) learnedPath(root cid.Cid) string {
	return filepath.Join(c.dir, root.String()+".origin")
}

// remember records originURL as where to read root's blocks when a caller
// names no origin. It writes only when the origin changes.
func (c *Catalog) remember(root cid.Cid, originURL string) error {
	if originURL == "" {
		return nil
	}
	if cur, err := os.ReadFile(c.learnedPath(root)); err == nil && string(cur) == originURL {
		return nil
	}
	if err := atomicfile.WriteFile(c.learnedPath(root), []byte(originURL), 0o644); err != nil {
		return fmt.Errorf("remember the origin of %s: %w", root, err)
	}
	return nil
}

// ReadOrigin is the origin reads of the dataset use when the caller names
// none: the one the node was last told for it, else the one it was
// published from.
func (c *Catalog) ReadOrigin(rec *dataset.Record) string {
	if b, err := os.ReadFile(c.learnedPath(rec.Root)); err == nil && len(b) > 0 {
		return string(b)
	}
	return rec.Origin
}
