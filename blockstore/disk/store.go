// Package disk is meshcache's on-disk block store: one file per block in a
// sharded directory, written to a temp file, made durable, renamed and the
// rename made durable before Put returns, so a crash never leaves a partial
// block visible and nothing is acknowledged before it is durable. A single
// block is fsynced and its directory synced; a batch of several new blocks
// is made durable with two syncfs(2) calls (groupsync.go).
// Blocks are verified against their CID on Put, again on their first read
// after each start (or every read), and by a background scrub; a block that
// fails is moved to quarantine/ and reported as blockstore.ErrCorrupt.
//
// Pins, capacity, eviction (LIRS by default, see docs/eviction.md) and
// mark-and-sweep GC come from the shared catalog; the in-memory index costs
// about 200 bytes per block (see docs/eviction.md).
package disk

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	bstore "github.com/ipfs/boxo/blockstore"
	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/internal/catalog"
	"github.com/meshcache/meshcache/blockstore/vfs"
)

// Store is the disk block store. It is safe for concurrent use.
type Store struct {
	cfg           Config
	fs            vfs.FS
	log           *slog.Logger
	cat           *catalog.Catalog
	blocksDir     string
	quarantineDir string

	shardMu sync.Mutex
	shards  map[string]bool // shard directories known to exist durably

	// viewBufs are View's read buffers (*[]byte).
	viewBufs sync.Pool

	// hashing are the blocks being hashed for their first read since start
	// (OpenFile, Verify), so that a reader and the read-ahead never hash
	// one block twice.
	hashMu  sync.Mutex
	hashing map[string]chan struct{}

	// gate lets Close wait for operations in flight; every exported method
	// holds it for reading, and internal paths never take it again.
	gate   sync.RWMutex
	closed bool
	done   chan struct{} // closed by Close, stops Run
}

var (
	_ blockstore.Store            = (*Store)(nil)
	_ bstore.Viewer               = (*Store)(nil)
	_ bstore.AllKeysChanWithErrer = (*Store)(nil)
	_ catalog.Backend             = (*backend)(nil)
)

// New opens (creating if needed) the store in cfg.Dir: it removes leftover
// temp files, rebuilds the index from the shard directories and marks what
// the pinned roots reach.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("disk block store config: %w", err)
	}
	cfg = cfg.withDefaults()
	s := &Store{
		cfg: cfg, fs: cfg.FS, log: cfg.Logger.With("component", "blockstore", "dir", cfg.Dir),
		blocksDir:     filepath.Join(cfg.Dir, blocksDirName),
		quarantineDir: filepath.Join(cfg.Dir, quarantineDirName),
		shards:        map[string]bool{}, done: make(chan struct{}),
	}
	s.cat = catalog.New(cfg.catalogConfig(), (*backend)(s), s.log)
	start := time.Now()
	if err := s.initDirs(); err != nil {
		return nil, fmt.Errorf("open block store %s: %w", cfg.Dir, err)
	}
	pins, err := s.loadPins()
	if err != nil {
		return nil, fmt.Errorf("open block store %s: %w", cfg.Dir, err)
	}
	s.cat.Restore(pins)
	temps, err := s.scan()
	if err != nil {
		return nil, fmt.Errorf("open block store %s: %w", cfg.Dir, err)
	}
	if err := s.cat.Remark(context.Background()); err != nil {
		return nil, fmt.Errorf("open block store %s: %w", cfg.Dir, err)
	}
	st := s.cat.Stats()
	s.log.Info("block store opened", "blocks", st.Blocks, "bytes", st.Bytes, "pins", len(pins),
		"temps_removed", temps, "took", time.Since(start))
	return s, nil
}

// initDirs creates the store's directories and makes their entries durable.
func (s *Store) initDirs() error {
	for _, d := range []string{s.blocksDir, s.quarantineDir} {
		if err := s.fs.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	for _, d := range []string{s.cfg.Dir, filepath.Dir(s.cfg.Dir)} {
		if err := s.fs.SyncDir(d); err != nil {
			return fmt.Errorf("sync %s: %w", d, err)
		}
	}
	return nil
}

func (s *Store) begin() error {
	s.gate.RLock()
	if s.closed {
		s.gate.RUnlock()
		return blockstore.ErrClosed
	}
	return nil
}

func (s *Store) end() { s.gate.RUnlock() }

// Close waits for operations in flight (so every write is durable or
// absent) and makes further calls fail with ErrClosed. It stops Run.
func (s *Store) Close() error {
	s.gate.Lock()
	defer s.gate.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	return nil
}

// Pin implements blockstore.Store; the pin list is saved atomically in
// pins.json.
func (s *Store) Pin(ctx context.Context, root cid.Cid, size int64) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	return s.cat.Pin(ctx, root, size)
}

// Unpin implements blockstore.Store.
func (s *Store) Unpin(ctx context.Context, root cid.Cid) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	return s.cat.Unpin(ctx, root)
}

// Pins implements blockstore.Store.
func (s *Store) Pins(ctx context.Context) ([]blockstore.Pin, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	return s.cat.Pins(), nil
}

// GC implements blockstore.Store.
func (s *Store) GC(ctx context.Context) (blockstore.GCResult, error) {
	if err := s.begin(); err != nil {
		return blockstore.GCResult{}, err
	}
	defer s.end()
	return s.cat.GC(ctx)
}

// Stat implements blockstore.Store.
func (s *Store) Stat(ctx context.Context) (blockstore.Stats, error) {
	if err := s.begin(); err != nil {
		return blockstore.Stats{}, err
	}
	defer s.end()
	return s.cat.Stats(), nil
}

// backend is the Store as the catalog sees it.
type backend Store

func (b *backend) ReadBlock(ctx context.Context, c cid.Cid) ([]byte, error) {
	return (*Store)(b).readVerified(ctx, c, forMarking, nil)
}

func (b *backend) RemoveBlock(key string) error {
	return b.fs.Remove((*Store)(b).blockPath(key))
}

func (b *backend) SavePins(pins []blockstore.Pin) error { return (*Store)(b).savePins(pins) }
