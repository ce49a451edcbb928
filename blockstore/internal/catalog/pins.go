package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/meshcache/meshcache/blockstore"
)

// Restore sets the pins read from storage at start, without saving them.
// Call Remark afterwards.
func (c *Catalog) Restore(pins []blockstore.Pin) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range pins {
		c.pinTotal += p.Size - c.pins[p.Root]
		c.pins[p.Root] = p.Size
	}
}

// Pin records root with size bytes reserved, marks what it reaches and
// saves the pin list.
func (c *Catalog) Pin(ctx context.Context, root cid.Cid, size int64) error {
	if !root.Defined() || size < 0 {
		return fmt.Errorf("pin %s: invalid root or negative size %d", root, size)
	}
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	c.mu.Lock()
	total := c.pinTotal - c.pins[root] + size
	c.mu.Unlock()
	if c.cfg.Capacity > 0 && total > c.cfg.Capacity {
		return fmt.Errorf("pin %s of %d bytes: %w: pins would reserve %d bytes of %d",
			root, size, blockstore.ErrPinTooLarge, total, c.cfg.Capacity)
	}
	// Marks first: if saving fails, the extra marks only over-protect until
	// the next Remark.
	if err := c.mark(ctx, c.live, []cid.Cid{root}, "", nil); err != nil {
		return fmt.Errorf("pin %s: %w", root, err)
	}
	next := c.pinList(root, size, false)
	if err := c.backend.SavePins(next); err != nil {
		return fmt.Errorf("pin %s: save pins: %w", root, err)
	}
	c.mu.Lock()
	c.pins[root] = size
	c.pinTotal = total
	c.mu.Unlock()
	return nil
}

// Unpin removes root and marks the remaining roots from scratch.
func (c *Catalog) Unpin(ctx context.Context, root cid.Cid) error {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	c.mu.Lock()
	size, ok := c.pins[root]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("unpin %s: not pinned: %w", root, format.ErrNotFound{Cid: root})
	}
	if err := c.backend.SavePins(c.pinList(root, 0, true)); err != nil {
		return fmt.Errorf("unpin %s: save pins: %w", root, err)
	}
	c.mu.Lock()
	delete(c.pins, root)
	c.pinTotal -= size
	c.mu.Unlock()
	if err := c.remarkLocked(ctx); err != nil {
		return fmt.Errorf("unpin %s: %w", root, err)
	}
	return nil
}

// pinList returns the pins with root set to size, or without root.
func (c *Catalog) pinList(root cid.Cid, size int64, drop bool) []blockstore.Pin {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]blockstore.Pin, 0, len(c.pins)+1)
	for r, s := range c.pins {
		if r != root {
			out = append(out, blockstore.Pin{Root: r, Size: s})
		}
	}
	if !drop {
		out = append(out, blockstore.Pin{Root: root, Size: size})
	}
	slices.SortFunc(out, func(a, b blockstore.Pin) int { return strings.Compare(a.Root.KeyString(), b.Root.KeyString()) })
	return out
}

// Pins lists the pinned roots.
func (c *Catalog) Pins() []blockstore.Pin {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]blockstore.Pin, 0, len(c.pins))
	for r, s := range c.pins {
		out = append(out, blockstore.Pin{Root: r, Size: s})
	}
	slices.SortFunc(out, func(a, b blockstore.Pin) int { return strings.Compare(a.Root.KeyString(), b.Root.KeyString()) })
	return out
}

// Remark rebuilds the pinned set from the roots.
func (c *Catalog) Remark(ctx context.Context) error {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	return c.remarkLocked(ctx)
}

// remarkLocked builds a new set while the live one keeps protecting blocks;
// stores committed meanwhile extend both (see Commit). The caller holds pinMu.
func (c *Catalog) remarkLocked(ctx context.Context) error {
	c.mu.Lock()
	t := newMarks()
	c.building = t
	roots := make([]cid.Cid, 0, len(c.pins))
	for r := range c.pins {
		roots = append(roots, r)
	}
	c.mu.Unlock()
	err := c.mark(ctx, t, roots, "", nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.building = nil
	if err != nil {
		return err
	}
	c.live = t
	for key, e := range c.entries {
		_, want := t.m[key]
		switch {
		case want && !e.pinned:
			c.pinEntryLocked(key)
		case !want && e.pinned:
			c.unpinEntryLocked(key)
		}
	}
	return nil
}

// GC marks from the roots and deletes every held block they do not reach.
func (c *Catalog) GC(ctx context.Context) (blockstore.GCResult, error) {
	c.pinMu.Lock()
	defer c.pinMu.Unlock()
	if err := c.remarkLocked(ctx); err != nil {
		return blockstore.GCResult{}, fmt.Errorf("gc: %w", err)
	}
	var res blockstore.GCResult
	var victims []string
	c.mu.Lock()
	for key, e := range c.entries {
		if _, busy := c.busy[key]; e.pinned || busy {
			continue
		}
		c.forgetLocked(key)
		c.busy[key] = make(chan struct{})
		victims = append(victims, key)
		res.BlocksRemoved++
		res.BytesRemoved += int64(e.size)
	}
	c.mu.Unlock()
	c.removeVictims(victims)
	return res, nil
}
