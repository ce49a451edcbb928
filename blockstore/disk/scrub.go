package disk

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/multiformats/go-multihash"
	"golang.org/x/time/rate"
)

// Run scrubs until ctx ends or the store closes, and then returns nil. Each
// pass walks the shards and re-verifies every block not verified (by a read
// or a scrub) within ScrubInterval, reading at most ScrubRate bytes per
// second; a block that fails is quarantined like one a read finds. A pass
// starts at most once per ScrubInterval. With a negative ScrubInterval, Run
// only waits.
func (s *Store) Run(ctx context.Context) error {
	if s.cfg.ScrubInterval < 0 {
		return s.wait(ctx, -1)
	}
	lim := rate.NewLimiter(rate.Limit(s.cfg.ScrubRate), blockstore.MaxBlockSize)
	for {
		if ctx.Err() != nil {
			return nil
		}
		start := time.Now()
		res, err := s.scrubPass(ctx, lim)
		if err != nil {
			return s.stopped(ctx, err)
		}
		s.log.Info("scrub pass done", "verified", res.verified, "corrupt", res.corrupt, "took", time.Since(start))
		// Never negative: wait treats that as forever, and a pass can take
		// longer than the interval (a big store at ScrubRate).
		if err := s.wait(ctx, max(0, s.cfg.ScrubInterval-time.Since(start))); err != nil {
			return s.stopped(ctx, err)
		}
	}
}

// stopped turns the end of ctx or of the store into a clean return.
func (s *Store) stopped(ctx context.Context, err error) error {
	if ctx.Err() != nil || errors.Is(err, blockstore.ErrClosed) {
		return nil
	}
	return err
}

// wait sleeps d (forever if negative) unless ctx ends or the store closes.
func (s *Store) wait(ctx context.Context, d time.Duration) error {
	var timer <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-timer:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return blockstore.ErrClosed
	}
}

type scrubResult struct{ verified, corrupt int }

func (s *Store) scrubPass(ctx context.Context, lim *rate.Limiter) (scrubResult, error) {
	var res scrubResult
	ents, err := s.fs.ReadDir(s.blocksDir)
	if err != nil {
		return res, err
	}
	for _, shard := range ents {
		if !shard.IsDir() {
			continue
		}
		files, err := s.fs.ReadDir(filepath.Join(s.blocksDir, shard.Name()))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, err
		}
		for _, f := range files {
			key, ok := parseBlockFile(f.Name())
			if !ok {
				continue
			}
			if err := s.scrubBlock(ctx, lim, key, &res); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// scrubBlock verifies one block if it is due.
func (s *Store) scrubBlock(ctx context.Context, lim *rate.Limiter, key string, res *scrubResult) error {
	e, ok := s.cat.Lookup(key)
	if !ok || time.Since(e.VerifiedAt) < s.cfg.ScrubInterval {
		return nil
	}
	if err := lim.WaitN(ctx, int(e.Size)); err != nil {
		return err
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	// The raw codec is a stand-in: verification only looks at the multihash.
	c := cid.NewCidV1(cid.Raw, multihash.Multihash(key))
	_, err := s.readVerified(ctx, c, forScrub, nil)
	switch {
	case errors.Is(err, blockstore.ErrCorrupt):
		res.corrupt++
	case err == nil:
		res.verified++
	case errors.Is(err, blockstore.ErrNotFound):
	default:
		s.log.Warn("scrub read failed", "cid", c, "err", err)
	}
	return nil
}
