package prefetch

import (
	"context"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"golang.org/x/sync/errgroup"

	"github.com/meshcache/meshcache/dataset"
)

// runJob pins one dataset. A job stopped by shutdown keeps its "pinning"
// record, so the next start resumes it; only blocks not yet durable are
// fetched again.
func (m *Manager) runJob(ctx context.Context, j *job) {
	m.setState(j, StatePinning, "")
	err := m.fetchAll(ctx, j)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		m.log.Error("pin failed", "root", j.root, "err", err)
		m.setState(j, StateFailed, err.Error())
		return
	}
	m.log.Info("pinned", "root", j.root, "bytes", j.prog.bytesDone.Load())
	m.setState(j, StatePinned, "")
	if m.cfg.OnPinned != nil {
		m.cfg.OnPinned(j.root)
	}
	if j.recheck.Swap(false) {
		select {
		case m.repairs <- struct{}{}:
		default:
		}
	}
}

func (m *Manager) fetchAll(ctx context.Context, j *job) error {
	idx, err := m.catalog.Index(ctx, j.root, j.rec.Origin)
	if err != nil {
		return err
	}
	if err := m.ensureMetadata(ctx, idx, j.rec.Origin); err != nil {
		return err
	}
	j.prog.mu.Lock()
	j.prog.bytesTotal, j.prog.blocksTotal = idx.TotalSize(), idx.NumLeaves()
	j.prog.mu.Unlock()

	chain, err := m.chain(ctx, idx, j.rec.Origin)
	if err != nil {
		return err
	}
	put := func(_ Want, b blocks.Block) error { return m.cfg.Store.Put(ctx, b) }
	fetched := func(source string, n int64) {
		j.prog.add(source, n, 1)
		m.count(source, n)
	}

	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan []Want)
	g.Go(func() error {
		defer close(batches)
		return m.missing(gctx, idx, 0, idx.NumLeaves(), m.cfg.Batch, func(local Want) {
			j.prog.add(SourceLocal, local.Size, 1)
			m.count(SourceLocal, local.Size)
		}, batches)
	})
	for range m.cfg.Workers {
		g.Go(func() error {
			for b := range batches {
				if err := chain.Fetch(gctx, b, put, fetched); err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// missing walks leaves [from, to) in the dataset's order, reports the ones
// held locally to local and sends the others to out in batches of up to
// batch neighbouring blocks.
func (m *Manager) missing(ctx context.Context, idx *dataset.Index, from, to int64, batch int, local func(Want), out chan<- []Want) error {
	var cur []Want
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		select {
		case out <- cur:
			cur = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for i := from; i < to; i++ {
		w, err := want(idx, i)
		if err != nil {
			return err
		}
		has, err := m.cfg.Store.Has(ctx, w.CID)
		if err != nil {
			return fmt.Errorf("check block %s: %w", w.CID, err)
		}
		if has {
			local(w)
			continue
		}
		if len(cur) > 0 && cur[len(cur)-1].File.Path != w.File.Path {
			if err := flush(); err != nil {
				return err
			}
		}
		cur = append(cur, w)
		if len(cur) >= batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// want describes leaf i of idx.
func want(idx *dataset.Index, i int64) (Want, error) {
	l, err := idx.Leaf(i)
	if err != nil {
		return Want{}, fmt.Errorf("leaf %d of %s: %w", i, idx.Record().Root, err)
	}
	return Want{Leaf: i, CID: l.CID, File: idx.File(l.FileNo), Offset: l.Offset, Size: int64(l.Size)}, nil
}

// ensureMetadata makes sure every non-leaf block of the dataset is local:
// an index survives a garbage collection that removed an unpinned dataset's
// blocks, and a pin needs them to protect its leaves.
func (m *Manager) ensureMetadata(ctx context.Context, idx *dataset.Index, originURL string) error {
	for _, c := range idx.MetadataBlocks() {
		has, err := m.cfg.Store.Has(ctx, c)
		if err != nil {
			return fmt.Errorf("check metadata block %s: %w", c, err)
		}
		if !has {
			return m.catalog.refetchMetadata(ctx, idx.Record(), originURL)
		}
	}
	return nil
}

// chain is the block source chain for a dataset read through originURL
// (the record's origin when empty).
func (m *Manager) chain(ctx context.Context, idx *dataset.Index, originURL string) (*Chain, error) {
	rec := idx.Record()
	if originURL == "" {
		originURL = m.catalog.ReadOrigin(rec)
	}
	o, err := m.cfg.Open(ctx, originURL)
	if err != nil {
		return nil, err
	}
	src := []Source{}
	if m.cfg.Peers != nil {
		src = append(src, m.cfg.Peers(rec.Root))
	}
	src = append(src, NewOriginSource(o, rec.Origin, m.cfg.Origin))
	return NewChain(src...), nil
}
