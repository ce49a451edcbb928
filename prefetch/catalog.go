package prefetch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"

	"github.com/ipfs/go-cid"
	"golang.org/x/sync/singleflight"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/dataset"
	"github.com/meshcache/meshcache/origin"
)

// ErrUnknownDataset: the node has no record of the dataset and was given no
// origin to learn it from.
var ErrUnknownDataset = errors.New("unknown dataset")

// OpenOrigin opens an origin URL, enforcing the daemon's allowlist.
type OpenOrigin func(ctx context.Context, rawURL string) (origin.Origin, error)

// Catalog finds a dataset's flat index, building it when the node has not
// seen the dataset: from the metadata blocks it holds, else from the CAR file
// publish wrote under the origin's .meshcache/, else by importing the origin
// again (the import is deterministic) and checking the root.
type Catalog struct {
	dir   string
	store blockstore.Store
	open  OpenOrigin
	log   *slog.Logger

	group singleflight.Group
	mu    sync.Mutex
	open_ map[cid.Cid]*dataset.Index
}

// NewCatalog keeps indexes under dir.
func NewCatalog(dir string, store blockstore.Store, open OpenOrigin, log *slog.Logger) (*Catalog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return &Catalog{dir: dir, store: store, open: open, log: log, open_: map[cid.Cid]*dataset.Index{}}, nil
}

// Known returns the index of a dataset the node already knows, or
// ErrUnknownDataset.
func (c *Catalog) Known(root cid.Cid) (*dataset.Index, error) {
	c.mu.Lock()
	idx := c.open_[root]
	c.mu.Unlock()
	if idx != nil {
		return idx, nil
	}
	idx, err := dataset.OpenIndex(c.dir, root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("dataset %s: %w", root, ErrUnknownDataset)
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if prev := c.open_[root]; prev != nil {
		idx.Close()
		idx = prev
	} else {
		c.open_[root] = idx
	}
	c.mu.Unlock()
	return idx, nil
}

// Index returns the dataset's index, learning the dataset from originURL
// when the node does not know it.
func (c *Catalog) Index(ctx context.Context, root cid.Cid, originURL string) (*dataset.Index, error) {
	if idx, err := c.Known(root); err == nil || !errors.Is(err, ErrUnknownDataset) {
		return idx, err
	}
	if originURL == "" {
		return nil, fmt.Errorf("dataset %s: %w: give the origin it was published from (--origin URL)", root, ErrUnknownDataset)
	}
	_, err, _ := c.group.Do(root.String(), func() (any, error) {
		return nil, c.learn(ctx, root, originURL)
	})
	if err != nil {
		return nil, err
	}
	return c.Known(root)
}

// Add records the index of a dataset this node published.
func (c *Catalog) Add(ctx context.Context, rec *dataset.Record) (*dataset.Index, error) {
	idx, err := dataset.BuildIndex(ctx, c.dir, rec, c.store.Get)
	if err != nil {
		return nil, err
	}
	idx.Close()
	return c.Known(rec.Root)
}

// Close closes the open indexes.
func (c *Catalog) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for k, idx := range c.open_ {
		errs = append(errs, idx.Close())
		delete(c.open_, k)
	}
	return errors.Join(errs...)
}

// learn obtains the dataset's record and metadata blocks from the origin and
// builds its index.
func (c *Catalog) learn(ctx context.Context, root cid.Cid, originURL string) error {
	o, err := c.open(ctx, originURL)
	if err != nil {
		return err
	}
	rec, err := c.fromCAR(ctx, o, root)
	if errors.Is(err, origin.ErrNotFound) {
		c.log.Info("no CAR file at the origin; importing it again to rebuild the metadata", "root", root, "origin", o.URL())
		rec, err = c.reimport(ctx, o, root)
	}
	if err != nil {
		return err
	}
	idx, err := dataset.BuildIndex(ctx, c.dir, rec, c.store.Get)
	if err != nil {
		return fmt.Errorf("index dataset %s: %w", root, err)
	}
	if err := idx.Close(); err != nil {
		return err
	}
	return c.remember(root, originURL)
}

// fromCAR reads .meshcache/<root>.car, verifies it and stores its blocks.
func (c *Catalog) fromCAR(ctx context.Context, o origin.Origin, root cid.Cid) (*dataset.Record, error) {
	path := dataset.CARPath(root)
	fi, err := o.Stat(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("find metadata of %s at %s: %w", root, o.URL(), err)
	}
	rc, err := o.ReadRange(ctx, path, 0, fi.Size, fi)
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", path, o.URL(), err)
	}
	defer rc.Close()
	rec, blks, err := dataset.ReadCAR(rc, root)
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", path, o.URL(), err)
	}
	if err := c.store.PutMany(ctx, blks); err != nil {
		return nil, fmt.Errorf("store metadata of %s: %w", root, err)
	}
	return rec, nil
}

// reimport rebuilds the metadata from the origin's bytes, storing only the
// non-leaf blocks, and checks that the origin still holds this dataset.
func (c *Catalog) reimport(ctx context.Context, o origin.Origin, root cid.Cid) (*dataset.Record, error) {
	res, err := dataset.Publish(ctx, o, dataset.PublishOptions{Store: c.store, NoStore: true, NoCAR: true, Logger: c.log})
	if err != nil {
		return nil, fmt.Errorf("import %s again to recover dataset %s: %w", o.URL(), root, err)
	}
	if !res.Root.Equals(root) {
		return nil, fmt.Errorf("origin %s holds dataset %s, not %s: %w", o.URL(), res.Root, root, origin.ErrChanged)
	}
	return res.Record, nil
}

// refetchMetadata stores the dataset's metadata blocks again, from the CAR
// file or by importing again.
func (c *Catalog) refetchMetadata(ctx context.Context, rec *dataset.Record, originURL string) error {
	if originURL == "" {
		originURL = c.ReadOrigin(rec)
	}
	o, err := c.open(ctx, originURL)
	if err != nil {
		return err
	}
	_, err = c.fromCAR(ctx, o, rec.Root)
	if errors.Is(err, origin.ErrNotFound) {
		_, err = c.reimport(ctx, o, rec.Root)
	}
	return err
}
