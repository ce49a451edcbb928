package prefetch

import (
	"context"
	"errors"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"golang.org/x/sync/errgroup"

	"github.com/meshcache/meshcache/dataset"
	"github.com/meshcache/meshcache/mesh/policy"
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

// fetchAll fetches every leaf of the pin that is not local, piece by
// piece. The pieces this node reads itself (all of them without a
// Coordinator) go through the chain, local holders then the origin; the
// others come from their owners through the plan, on their own workers, so
// that waiting for an owner never holds up the pieces others wait for here.
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
	pieces, err := policy.NewPieces(idx.NumLeaves(), m.cfg.PieceBlocks)
	if err != nil {
		return err
	}
	var plan Plan = solo{}
	if m.cfg.Coordinator != nil {
		if plan, err = m.cfg.Coordinator.Join(ctx, j.root, pieces); err != nil {
			return fmt.Errorf("join the region's pin of %s: %w", j.root, err)
		}
	}
	defer plan.Close()
	w := newPinWork(idx, pieces, plan)
	j.work.Store(w)
	defer func() {
		j.work.Store(nil)
		w.landing.close()
	}()

	// A piece may be walked twice (begun from its owner, finished from
	// the origin): counted remembers the leaves already in the progress.
	counted := newLeafBits(idx.NumLeaves())
	stored := func(want Want, b blocks.Block) {
		counted.add(want.Leaf)
		w.landing.landed(b.Cid())
		plan.Have(want.Leaf)
	}
	// fetchInto runs one fetch with its blocks gathered into a putBatch,
	// stored as the batch fills and once the fetch returns, whatever it
	// returned: the blocks it delivered are good.
	fetchInto := func(pb *putBatch, fetch func(GotFunc) error) error {
		err := fetch(func(want Want, b blocks.Block) error { return pb.add(ctx, want, b) })
		if ferr := pb.flush(ctx); ferr != nil {
			return ferr
		}
		return err
	}
	fetched := func(source string, n int64) {
		j.prog.add(source, n, 1)
		m.count(source, n)
	}
	local := func(l Want) {
		if counted.add(l.Leaf) {
			fetched(SourceLocal, l.Size)
			plan.Have(l.Leaf)
		}
	}
	theirs := make(chan int64, pieces.Count())
	for p := range pieces.Count() {
		if plan.Mine(p) {
			w.mine(p)
		} else {
			theirs <- p
		}
	}
	close(theirs)

	g, gctx := errgroup.WithContext(ctx)
	// Requests to owners mostly wait for blocks to land there, so more of
	// them run at once than origin reads: enough that blocks landed at one
	// owner are fetched while others are still awaited (each holds up to
	// a putBatch of blocks, so not many more).
	var fromPeers errgroup.Group
	for range 2 * m.cfg.Workers {
		fromPeers.Go(func() error {
			pb := newPutBatch(m.cfg.Store, stored)
			for p := range theirs {
				if plan.Mine(p) {
					w.mine(p)
					continue
				}
				err := m.eachBatch(gctx, idx, pieces, p, local, func(b []Want) error {
					return fetchInto(pb, func(got GotFunc) error {
						return plan.Fetch(gctx, p, b, func(want Want, blk blocks.Block) error {
							if err := got(want, blk); err != nil {
								return err
							}
							fetched(SourcePeer, int64(len(blk.RawData())))
							return nil
						})
					})
				})
				switch {
				case errors.Is(err, ErrMine):
					w.mine(p)
				case err != nil:
					return err
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		// Once every other piece came from its owner or became this
		// node's, nothing more can join the queue.
		defer w.closeOwn()
		return fromPeers.Wait()
	})
	for range m.cfg.Workers {
		g.Go(func() error {
			pb := newPutBatch(m.cfg.Store, stored)
			for p := range w.own {
				err := m.eachBatch(gctx, idx, pieces, p, local, func(b []Want) error {
					return fetchInto(pb, func(got GotFunc) error { return chain.Fetch(gctx, b, got, fetched) })
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// eachBatch walks piece's leaves in the dataset's order, reports the ones
// held locally to local and hands the others to fetch in batches of about
// Batch MiB (Batch blocks of 1 MiB; up to 4×Batch blocks of small files).
// A batch may span files: the origin source coalesces each file's
// neighbouring blocks into its own ranged reads, and a peer answers a
// batch of small files' blocks in one request instead of one each.
func (m *Manager) eachBatch(ctx context.Context, idx *dataset.Index, pieces policy.Pieces, piece int64, local func(Want), fetch func([]Want) error) error {
	from, to := pieces.Range(piece)
	var cur []Want
	var curBytes int64
	flush := func() error {
		if len(cur) == 0 {
			return nil
		}
		b := cur
		cur, curBytes = nil, 0
		return fetch(b)
	}
	for i := from; i < to; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
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
		cur = append(cur, w)
		curBytes += w.Size
		if curBytes >= int64(m.cfg.Batch)<<20 || len(cur) >= 4*m.cfg.Batch {
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
		src = append(src, m.cfg.Peers(rec.Root)...)
	}
	src = append(src, NewOriginSource(o, rec.Origin, m.cfg.Origin))
	return NewChain(src...), nil
}
