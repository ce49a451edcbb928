package prefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/meshcache/meshcache/origin"
)

// OriginConfig tunes reads from an origin.
type OriginConfig struct {
	// MaxRange caps one coalesced ranged read (default 16 MiB).
	MaxRange int64
	// Parallel is how many ranged reads run at once (default 4). The origin
	// package applies its own per-origin limit on top.
	Parallel int
}

func (c *OriginConfig) setDefaults() {
	if c.MaxRange <= 0 {
		c.MaxRange = 16 << 20
	}
	if c.Parallel <= 0 {
		c.Parallel = 4
	}
}

// OriginSource reads cold misses from an origin, coalescing neighbouring
// wanted blocks of a file into one ranged read and verifying every block.
type OriginSource struct {
	o   origin.Origin
	cfg OriginConfig
	// strong is whether the record's ETag and versionId apply: they do only
	// when reading the very origin that was published from, since servers
	// of the same folder give different ETags.
	strong bool
}

var _ Source = (*OriginSource)(nil)

// NewOriginSource reads from o blocks of a dataset published from
// publishedFrom (the record's origin URL).
func NewOriginSource(o origin.Origin, publishedFrom string, cfg OriginConfig) *OriginSource {
	cfg.setDefaults()
	return &OriginSource{o: o, cfg: cfg, strong: origin.SameLocation(o.URL(), publishedFrom)}
}

// Name implements Source.
func (s *OriginSource) Name() string { return SourceOrigin }

// Origin returns the origin read.
func (s *OriginSource) Origin() origin.Origin { return s.o }

// Fetch implements Source.
func (s *OriginSource) Fetch(ctx context.Context, want []Want, got GotFunc) error {
	// Empty files have one empty leaf: nothing to read.
	nonEmpty := want[:0:0]
	for _, w := range want {
		if w.Size > 0 {
			nonEmpty = append(nonEmpty, w)
			continue
		}
		b, err := verify(w.CID, nil)
		if err != nil {
			return err
		}
		if err := got(w, b); err != nil {
			return err
		}
	}
	runs := coalesce(nonEmpty, s.cfg.MaxRange)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, s.cfg.Parallel)
	)
	for _, r := range runs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := s.readRun(ctx, r, got); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		// The first error says what failed; more would repeat it.
		return fmt.Errorf("%d of %d ranged reads failed: %w", len(errs), len(runs), errs[0])
	}
	return nil
}

// readRun reads one coalesced range and splits it into verified blocks.
func (s *OriginSource) readRun(ctx context.Context, run []Want, got GotFunc) error {
	first, last := run[0], run[len(run)-1]
	start := first.Offset
	length := last.Offset + last.Size - start
	version := first.File
	if !s.strong {
		version.ETag, version.VersionID = "", ""
	}
	rc, err := s.o.ReadRange(ctx, first.File.Path, start, length, version)
	if err != nil {
		return fmt.Errorf("read %s bytes %d-%d: %w", first.File.Path, start, start+length-1, err)
	}
	defer rc.Close()
	var integrity error
	for _, w := range run {
		buf := make([]byte, w.Size)
		if _, err := io.ReadFull(rc, buf); err != nil {
			return fmt.Errorf("read %s at %d: %w", w.File.Path, w.Offset, errors.Join(origin.ErrBadResponse, err))
		}
		b, err := verify(w.CID, buf)
		if err != nil {
			// The rest of the range may still be good; keep reading so one
			// bad block does not cost its neighbours a second origin read.
			integrity = fmt.Errorf("origin %s, %s at offset %d: %w", s.o.URL(), w.File.Path, w.Offset, err)
			continue
		}
		if err := got(w, b); err != nil {
			return err
		}
	}
	return integrity
}

// coalesce groups wants into runs of neighbouring blocks of one file, each at
// most maxRange bytes (a run always holds at least one block).
func coalesce(want []Want, maxRange int64) [][]Want {
	sorted := append([]Want(nil), want...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].File.Path != sorted[j].File.Path {
			return sorted[i].File.Path < sorted[j].File.Path
		}
		return sorted[i].Offset < sorted[j].Offset
	})
	var runs [][]Want
	var cur []Want
	var curBytes int64
	for _, w := range sorted {
		if len(cur) > 0 {
			prev := cur[len(cur)-1]
			adjacent := prev.File.Path == w.File.Path && prev.Offset+prev.Size == w.Offset
			if adjacent && curBytes+w.Size <= maxRange {
				cur = append(cur, w)
				curBytes += w.Size
				continue
			}
			runs = append(runs, cur)
		}
		cur, curBytes = []Want{w}, w.Size
	}
	if len(cur) > 0 {
		runs = append(runs, cur)
	}
	return runs
}
