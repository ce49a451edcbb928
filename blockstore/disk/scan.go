package disk

import (
	"fmt"
	"path/filepath"
	"sync/atomic"

	"github.com/meshcache/meshcache/blockstore"
	"golang.org/x/sync/errgroup"
)

// scan rebuilds the index from the shard directories, removing temp files
// left by writes a crash interrupted. Blocks found are unverified until
// read or scrubbed. It returns how many temp files it removed.
func (s *Store) scan() (int64, error) {
	var temps atomic.Int64
	if err := s.removeTemps(s.cfg.Dir, &temps); err != nil {
		return 0, err
	}
	ents, err := s.fs.ReadDir(s.blocksDir)
	if err != nil {
		return 0, fmt.Errorf("scan %s: %w", s.blocksDir, err)
	}
	g := new(errgroup.Group)
	g.SetLimit(4)
	for _, e := range ents {
		if !e.IsDir() {
			s.log.Warn("unexpected file in blocks directory; ignored", "name", e.Name())
			continue
		}
		s.shards[e.Name()] = true
		g.Go(func() error { return s.scanShard(e.Name(), &temps) })
	}
	return temps.Load(), g.Wait()
}

func (s *Store) scanShard(shard string, temps *atomic.Int64) error {
	dir := filepath.Join(s.blocksDir, shard)
	ents, err := s.fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("scan %s: %w", dir, err)
	}
	for _, e := range ents {
		name := e.Name()
		if isTemp(name) {
			if err := s.fs.Remove(filepath.Join(dir, name)); err != nil {
				return fmt.Errorf("remove leftover temp file: %w", err)
			}
			temps.Add(1)
			continue
		}
		key, ok := parseBlockFile(name)
		if !ok || shardOf(blockName(key)) != shard {
			s.log.Warn("unexpected file in shard directory; ignored", "path", filepath.Join(dir, name))
			continue
		}
		info, err := e.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", filepath.Join(dir, name), err)
		}
		if info.Size() > blockstore.MaxBlockSize {
			s.log.Warn("block file larger than any block; ignored", "path", filepath.Join(dir, name), "size", info.Size())
			continue
		}
		s.cat.Load(key, info.Size())
	}
	return nil
}

// removeTemps removes temp files (pins.json being replaced) from dir.
func (s *Store) removeTemps(dir string, temps *atomic.Int64) error {
	ents, err := s.fs.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("scan %s: %w", dir, err)
	}
	for _, e := range ents {
		if !e.IsDir() && isTemp(e.Name()) && filepath.Ext(e.Name()) == tempExt {
			if err := s.fs.Remove(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("remove leftover temp file: %w", err)
			}
			temps.Add(1)
		}
	}
	return nil
}
