package disk

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/internal/catalog"
	"golang.org/x/sync/errgroup"
)

// Put implements blockstore.Store: the block is verified, then written to a
// temp file, fsynced, renamed into place and its directory synced before
// Put returns.
func (s *Store) Put(ctx context.Context, b blocks.Block) error {
	return s.PutMany(ctx, []blocks.Block{b})
}

// PutMany commits a batch as a group: every block is hashed while the new
// ones are written to temp files (several at once, so hashing and copying
// overlap) and made durable, then renamed, and the renames made durable.
// A batch of at least Config.GroupSyncMin new blocks is made durable with
// one syncfs(2) after the writes and one after the renames; a smaller one
// with an fsync per temp file and one per touched shard directory (see
// groupsync.go for why). Blocks are acknowledged only after that. If any
// block does not match its CID, nothing of the batch is stored (its temp
// files are removed; eviction to make room may already have happened).
func (s *Store) PutMany(ctx context.Context, bs []blocks.Block) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	for _, b := range bs {
		if len(b.RawData()) > blockstore.MaxBlockSize {
			return fmt.Errorf("put: %w", catalog.Check(b.Cid(), b.RawData()))
		}
	}
	batch := dedupe(bs)
	for _, p := range batch {
		if err := s.cat.Lock(ctx, p.key); err != nil {
			s.unlockAll(batch)
			return fmt.Errorf("put block %s: %w", p.b.Cid(), err)
		}
		p.locked = true
	}
	defer s.unlockAll(batch)
	var todo []*pending
	for _, p := range batch {
		if _, held := s.cat.Lookup(p.key); !held {
			todo = append(todo, p)
			p.write = true
		}
	}
	if err := s.ensureShards(todo); err != nil {
		return err
	}
	if err := s.reserve(todo); err != nil {
		return err
	}
	expand, err := s.writeBatch(batch, todo)
	// Marking through newly stored dag-pb blocks reads other blocks and may
	// quarantine one of this batch: it runs without the batch's locks.
	s.unlockAll(batch)
	for _, f := range expand {
		f(ctx)
	}
	return err
}

// CopiesBlocks reports that PutMany keeps no reference to the blocks' bytes
// once it returns, so a caller may reuse its buffers (dataset.CopyingStore).
func (s *Store) CopiesBlocks() bool { return true }

// pending is one block of a batch on its way to disk.
type pending struct {
	b      blocks.Block
	key    string
	temp   string
	locked bool
	write  bool // not held yet
}

// dedupe drops repeated blocks and sorts by key, so that two batches lock
// shared keys in the same order.
func dedupe(bs []blocks.Block) []*pending {
	seen := make(map[string]bool, len(bs))
	out := make([]*pending, 0, len(bs))
	for _, b := range bs {
		k := catalog.Key(b.Cid())
		if !seen[k] {
			seen[k] = true
			out = append(out, &pending{b: b, key: k})
		}
	}
	slices.SortFunc(out, func(a, b *pending) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return out
}

func (s *Store) unlockAll(batch []*pending) {
	for _, p := range batch {
		if p.locked {
			s.cat.Unlock(p.key)
			p.locked = false
		}
	}
}

// reserve claims space for the whole batch or for none of it.
func (s *Store) reserve(batch []*pending) error {
	for i, p := range batch {
		if err := s.cat.Reserve(int64(len(p.b.RawData()))); err != nil {
			for _, q := range batch[:i] {
				s.cat.Release(int64(len(q.b.RawData())))
			}
			return fmt.Errorf("put block %s: %w", p.b.Cid(), err)
		}
	}
	return nil
}

// writeBatch verifies every block of batch and writes, syncs, renames and
// commits the reserved blocks of todo. On failure nothing of the failed
// blocks remains and their space is released. It returns the markings the
// commits ask for.
func (s *Store) writeBatch(batch, todo []*pending) ([]func(context.Context), error) {
	var group *groupSync
	if s.useGroupSync(len(todo)) {
		var err error
		if group, err = s.openGroupSync(); err != nil {
			s.releaseAll(todo)
			return nil, err
		}
		defer group.close()
	}
	g := new(errgroup.Group)
	g.SetLimit(s.cfg.WriteParallelism)
	for _, p := range batch {
		g.Go(func() error { return s.verifyAndWrite(p, group == nil) })
	}
	if err := g.Wait(); err != nil {
		s.abandon(todo)
		return nil, err
	}
	if group != nil {
		if err := group.sync("written blocks", len(todo)); err != nil {
			s.abandon(todo)
			return nil, err
		}
	}
	batch = todo
	dirs := map[string]bool{}
	var renamed []*pending
	var failure error
	for i, p := range batch {
		final := s.blockPath(p.key)
		if err := s.fs.Rename(p.temp, final); err != nil {
			failure = fmt.Errorf("put block %s: rename into place: %w", p.b.Cid(), err)
			s.abandon(batch[i:])
			break
		}
		dirs[filepath.Dir(final)] = true
		renamed = append(renamed, p)
	}
	var err error
	if group != nil {
		err = group.sync("renames", len(renamed))
	} else {
		err = s.syncDirs(dirs)
	}
	if err != nil {
		// The renames may not survive a crash: undo them rather than
		// acknowledge blocks that are not durable.
		for _, p := range renamed {
			s.fs.Remove(s.blockPath(p.key))
		}
		s.releaseAll(renamed)
		return nil, mapNoSpace(fmt.Errorf("put %d blocks: %w", len(renamed), err))
	}
	now := time.Now()
	var expand []func(context.Context)
	for _, p := range renamed {
		if f := s.cat.Commit(p.b.Cid(), int64(len(p.b.RawData())), p.b.RawData(), now); f != nil {
			expand = append(expand, f)
		}
	}
	return expand, failure
}

// verifyAndWrite hashes p on one core while its bytes go to a temp file
// (fsynced when fsync is set); the temp file is only renamed (by the
// caller) once both succeeded.
func (s *Store) verifyAndWrite(p *pending, fsync bool) error {
	if !p.write {
		return wrapPut(catalog.CheckBlock(p.b))
	}
	if blockstore.IsVerified(p.b) {
		return s.writeTemp(p, fsync)
	}
	verified := make(chan error, 1)
	go func() { verified <- catalog.CheckBlock(p.b) }()
	werr := s.writeTemp(p, fsync)
	if err := wrapPut(<-verified); err != nil {
		return err
	}
	return werr
}

func wrapPut(err error) error {
	if err != nil {
		return fmt.Errorf("put: %w", err)
	}
	return nil
}

// syncDirs syncs the shard directories a batch renamed into, several at a
// time (a batch of 1 MiB blocks touches about one shard per block).
func (s *Store) syncDirs(dirs map[string]bool) error {
	g := new(errgroup.Group)
	g.SetLimit(s.cfg.WriteParallelism)
	for dir := range dirs {
		g.Go(func() error {
			if err := s.fs.SyncDir(dir); err != nil {
				return fmt.Errorf("sync %s: %w", dir, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// writeTemp writes p's bytes to a fresh temp file in its shard and, with
// fsync set, fsyncs it; on failure the temp file is gone. Without fsync
// (a group-synced batch) the bytes bypass the page cache: a batch is a
// publish or a fetch of many blocks, which nobody reads back at once, and
// filling fresh page-cache pages costs here as much CPU as hashing.
func (s *Store) writeTemp(p *pending, fsync bool) error {
	p.temp = s.tempPath(p.key)
	if err := s.writeFile(p.temp, p.b.RawData(), fsync); err != nil {
		p.temp = ""
		return mapNoSpace(fmt.Errorf("put block %s: %w", p.b.Cid(), err))
	}
	return nil
}

// writeDurable creates name with data and fsyncs it, removing it on failure.
func (s *Store) writeDurable(name string, data []byte) error {
	return s.writeFile(name, data, true)
}

// directWhole: only blocks of whole 64 KiB units are written with
// O_DIRECT (full 1 MiB chunks, the bulk of a dataset's bytes). A block with
// a tail would cost a padded copy, a pwrite and an ftruncate more; small
// blocks go through the page cache, which the group's syncfs writes back.
const directWhole = 64 << 10

// writeFile creates name with data, fsyncs it when fsync is set, and
// removes it on failure.
func (s *Store) writeFile(name string, data []byte, fsync bool) error {
	create := s.fs.Create
	if !fsync && len(data)%directWhole == 0 && len(data) > 0 {
		create = s.fs.CreateDirect
	}
	f, err := create(name)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil && fsync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if rerr := s.fs.Remove(name); rerr != nil {
			s.log.Warn("remove failed temp file", "path", name, "err", rerr)
		}
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// abandon removes the temp files of blocks that will not be committed and
// releases their space.
func (s *Store) abandon(batch []*pending) {
	for _, p := range batch {
		if p.temp != "" {
			if err := s.fs.Remove(p.temp); err != nil {
				s.log.Warn("remove temp file", "path", p.temp, "err", err)
			}
			p.temp = ""
		}
	}
	s.releaseAll(batch)
}

func (s *Store) releaseAll(batch []*pending) {
	for _, p := range batch {
		s.cat.Release(int64(len(p.b.RawData())))
	}
}

// ensureShards creates the shard directories a batch needs that do not
// exist yet, and makes their entries durable with one sync of blocks/
// before any block is renamed into them.
func (s *Store) ensureShards(batch []*pending) error {
	s.shardMu.Lock()
	defer s.shardMu.Unlock()
	var created []string
	for _, p := range batch {
		shard := shardOf(blockName(p.key))
		if s.shards[shard] {
			continue
		}
		if err := s.fs.MkdirAll(filepath.Join(s.blocksDir, shard), 0o755); err != nil {
			return mapNoSpace(fmt.Errorf("put block %s: create shard %s: %w", p.b.Cid(), shard, err))
		}
		s.shards[shard] = true
		created = append(created, shard)
	}
	if len(created) == 0 {
		return nil
	}
	if err := s.fs.SyncDir(s.blocksDir); err != nil {
		for _, shard := range created {
			delete(s.shards, shard) // sync again next time
		}
		return mapNoSpace(fmt.Errorf("put: sync %s: %w", s.blocksDir, err))
	}
	return nil
}

// mapNoSpace marks a full disk (or quota) with blockstore.ErrNoSpace.
func mapNoSpace(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", blockstore.ErrNoSpace, err)
	}
	return err
}
