package prefetch

import (
	"context"
	"fmt"
)

// A block the store finds corrupt is quarantined, and a reader that met it
// fetches it again. A block the scrub (or a garbage collection's marking)
// finds has no reader waiting: without repair, a pinned dataset would stay
// "pinned" with a hole until someone read that spot. The store signals each
// loss (Config.Lost); repairLoop then walks the finished pins and fetches
// what they lack. Running pins are flagged instead and checked when they
// end, since their walk may have passed the block already.

// repairLoop runs until ctx ends.
func (m *Manager) repairLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.cfg.Lost:
		case <-m.repairs:
		}
		for _, j := range m.jobsToRepair() {
			if err := m.repair(ctx, j); err != nil && ctx.Err() == nil {
				m.log.Error("repair pin", "root", j.root, "err", err)
			}
		}
	}
}

// jobsToRepair returns the finished pins and flags the running ones.
func (m *Manager) jobsToRepair() []*job {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*job
	for _, j := range m.jobs {
		switch j.rec.State {
		case StatePinned:
			out = append(out, j)
		case StateQueued, StatePinning:
			j.recheck.Store(true)
		}
	}
	return out
}

// repair fetches the blocks a pinned dataset lacks. Each goes through the
// read path's single flight, so a reader that met the same corrupt block
// and the repair read it from the origin once between them.
func (m *Manager) repair(ctx context.Context, j *job) error {
	idx, err := m.catalog.Index(ctx, j.root, j.rec.Origin)
	if err != nil {
		return err
	}
	if err := m.ensureMetadata(ctx, idx, j.rec.Origin); err != nil {
		return err
	}
	fixed := 0
	for i := range idx.NumLeaves() {
		w, err := want(idx, i)
		if err != nil {
			return err
		}
		has, err := m.cfg.Store.Has(ctx, w.CID)
		if err != nil {
			return fmt.Errorf("check block %s: %w", w.CID, err)
		}
		if has {
			continue
		}
		if err := m.reads.fetch(ctx, idx, j.rec.Origin, w); err != nil {
			return fmt.Errorf("fetch lost block %s of %s again: %w", w.CID, w.File.Path, err)
		}
		fixed++
	}
	if fixed > 0 {
		m.log.Warn("pin repaired: fetched lost blocks again", "root", j.root, "blocks", fixed)
	}
	return nil
}
