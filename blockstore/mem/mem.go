// Package mem is an in-memory blockstore.Store for tests and simulations. It
// shares the disk store's semantics (verification on Put, pins as roots,
// mark-and-sweep GC, capacity with eviction) through blockstore's internal
// catalog; only the bytes live in a map.
package mem

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bstore "github.com/ipfs/boxo/blockstore"
	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/evict"
	"github.com/meshcache/meshcache/blockstore/internal/catalog"
)

// Config sizes a memory store. The zero value is an unlimited store.
type Config struct {
	Capacity  int64   // bytes; 0: unlimited
	HighWater float64 // default 0.95
	LowWater  float64 // default 0.90
	Policy    evict.Name
	Logger    *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.HighWater == 0 {
		c.HighWater = 0.95
	}
	if c.LowWater == 0 {
		c.LowWater = 0.90
	}
	if c.Policy == "" {
		c.Policy = evict.Default
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate says which field is wrong.
func (c Config) Validate() error {
	d := c.withDefaults()
	return catalog.Config{Capacity: d.Capacity, HighWater: d.HighWater, LowWater: d.LowWater, Policy: d.Policy}.Validate()
}

// Store is an in-memory block store.
type Store struct {
	cat *catalog.Catalog

	mu     sync.RWMutex
	data   map[string][]byte
	closed bool
}

var (
	_ blockstore.Store            = (*Store)(nil)
	_ bstore.Viewer               = (*Store)(nil)
	_ catalog.Backend             = (*backend)(nil)
	_ bstore.AllKeysChanWithErrer = (*Store)(nil)
)

// New returns an empty store.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("memory block store config: %w", err)
	}
	cfg = cfg.withDefaults()
	s := &Store{data: map[string][]byte{}}
	s.cat = catalog.New(catalog.Config{Capacity: cfg.Capacity, HighWater: cfg.HighWater,
		LowWater: cfg.LowWater, Policy: cfg.Policy}, (*backend)(s), cfg.Logger.With("component", "blockstore-mem"))
	return s, nil
}

// backend is the Store as the catalog sees it.
type backend Store

func (b *backend) ReadBlock(ctx context.Context, c cid.Cid) ([]byte, error) {
	return (*Store)(b).read(c)
}

func (b *backend) RemoveBlock(key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.data, key)
	return nil
}

func (b *backend) SavePins([]blockstore.Pin) error { return nil }

func (s *Store) read(c cid.Cid) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, blockstore.ErrClosed
	}
	d, ok := s.data[catalog.Key(c)]
	if !ok {
		return nil, fmt.Errorf("read block %s: %w", c, format.ErrNotFound{Cid: c})
	}
	return d, nil
}

func (s *Store) checkOpen() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return blockstore.ErrClosed
	}
	return nil
}

// Get implements blockstore.Store.
func (s *Store) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	d, err := s.read(c)
	if err != nil {
		return nil, err
	}
	s.cat.Hit(catalog.Key(c))
	return blocks.NewBlockWithCid(d, c)
}

// View implements boxo's Viewer without copying.
func (s *Store) View(ctx context.Context, c cid.Cid, fn func([]byte) error) error {
	d, err := s.read(c)
	if err != nil {
		return err
	}
	s.cat.Hit(catalog.Key(c))
	return fn(d)
}

// Has implements blockstore.Store.
func (s *Store) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	_, ok := s.cat.Lookup(catalog.Key(c))
	return ok, nil
}

// GetSize implements blockstore.Store.
func (s *Store) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	e, ok := s.cat.Lookup(catalog.Key(c))
	if !ok {
		return 0, fmt.Errorf("size of block %s: %w", c, format.ErrNotFound{Cid: c})
	}
	return int(e.Size), nil
}

// Put implements blockstore.Store.
func (s *Store) Put(ctx context.Context, b blocks.Block) error {
	return s.PutMany(ctx, []blocks.Block{b})
}

// PutMany verifies every block before storing any.
func (s *Store) PutMany(ctx context.Context, bs []blocks.Block) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	for _, b := range bs {
		if err := catalog.CheckBlock(b); err != nil {
			return fmt.Errorf("put: %w", err)
		}
	}
	for _, b := range bs {
		expand, err := s.putOne(ctx, b)
		if err != nil {
			return err
		}
		if expand != nil {
			expand(ctx)
		}
	}
	return nil
}

// CopiesBlocks reports that PutMany copies the blocks' bytes, so a caller
// may reuse its buffers (dataset.CopyingStore).
func (s *Store) CopiesBlocks() bool { return true }

// putOne stores b under its lock and returns the marking to run after.
func (s *Store) putOne(ctx context.Context, b blocks.Block) (func(context.Context), error) {
	c, key := b.Cid(), catalog.Key(b.Cid())
	if err := s.cat.Lock(ctx, key); err != nil {
		return nil, fmt.Errorf("put block %s: %w", c, err)
	}
	defer s.cat.Unlock(key)
	if _, ok := s.cat.Lookup(key); ok {
		return nil, nil
	}
	size := int64(len(b.RawData()))
	if err := s.cat.Reserve(size); err != nil {
		return nil, fmt.Errorf("put block %s: %w", c, err)
	}
	data := append([]byte(nil), b.RawData()...)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.cat.Release(size)
		return nil, blockstore.ErrClosed
	}
	s.data[key] = data
	s.mu.Unlock()
	return s.cat.Commit(c, size, data, time.Now()), nil
}

// DeleteBlock implements blockstore.Store; deleting an absent block is not
// an error.
func (s *Store) DeleteBlock(ctx context.Context, c cid.Cid) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	key := catalog.Key(c)
	if err := s.cat.Lock(ctx, key); err != nil {
		return fmt.Errorf("delete block %s: %w", c, err)
	}
	defer s.cat.Unlock(key)
	s.cat.Forget(key)
	return (*backend)(s).RemoveBlock(key)
}

// AllKeysChan implements blockstore.Store. Keys come back as CIDv1 raw.
func (s *Store) AllKeysChan(ctx context.Context) (<-chan cid.Cid, error) {
	ch, _, err := s.AllKeysChanWithErr(ctx)
	return ch, err
}

// AllKeysChanWithErr implements boxo's AllKeysChanWithErrer.
func (s *Store) AllKeysChanWithErr(ctx context.Context) (<-chan cid.Cid, func() error, error) {
	if err := s.checkOpen(); err != nil {
		return nil, nil, err
	}
	return catalog.KeysChan(ctx, s.cat.Keys())
}

// Pin implements blockstore.Store.
func (s *Store) Pin(ctx context.Context, root cid.Cid, size int64) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	return s.cat.Pin(ctx, root, size)
}

// Unpin implements blockstore.Store.
func (s *Store) Unpin(ctx context.Context, root cid.Cid) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	return s.cat.Unpin(ctx, root)
}

// Pins implements blockstore.Store.
func (s *Store) Pins(ctx context.Context) ([]blockstore.Pin, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	return s.cat.Pins(), nil
}

// GC implements blockstore.Store.
func (s *Store) GC(ctx context.Context) (blockstore.GCResult, error) {
	if err := s.checkOpen(); err != nil {
		return blockstore.GCResult{}, err
	}
	return s.cat.GC(ctx)
}

// Stat implements blockstore.Store.
func (s *Store) Stat(ctx context.Context) (blockstore.Stats, error) {
	if err := s.checkOpen(); err != nil {
		return blockstore.Stats{}, err
	}
	return s.cat.Stats(), nil
}

// Close implements blockstore.Store.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
