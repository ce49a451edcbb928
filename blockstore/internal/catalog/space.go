package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
)

// Reserve claims size bytes for a block about to be written. When that
// takes usage above the high watermark, unpinned blocks are evicted down to
// the low watermark first: their entries leave the index at once and their
// bytes are removed before Reserve returns. It fails with ErrNoSpace when the
// block does not fit even with every unpinned block gone.
func (c *Catalog) Reserve(size int64) error {
	c.mu.Lock()
	if c.cfg.Capacity == 0 {
		c.reserved += size
		c.mu.Unlock()
		return nil
	}
	var victims []string
	// Evict only if that can make room: never flush the cache for a block
	// that would not fit beside the pinned blocks anyway.
	if c.pinnedHeld+c.reserved+size <= c.cfg.Capacity {
		victims = c.evictLocked(size)
	}
	fits := c.used+c.reserved+size <= c.cfg.Capacity
	if fits {
		c.reserved += size
	}
	held, pinned, reserved := c.used, c.pinnedHeld, c.reserved
	c.mu.Unlock()
	c.removeVictims(victims)
	if !fits {
		return fmt.Errorf("%w: block of %d bytes does not fit: %d bytes held (%d pinned), %d being written, capacity %d",
			blockstore.ErrNoSpace, size, held, pinned, reserved, c.cfg.Capacity)
	}
	return nil
}

// evictLocked takes victims out of the index when adding size would cross
// the high watermark. It returns the victims it locked; the bytes of busy
// victims are left to whoever holds their lock (a delete or a quarantine
// already under way).
func (c *Catalog) evictLocked(size int64) []string {
	capacity := float64(c.cfg.Capacity)
	high, low := int64(c.cfg.HighWater*capacity), int64(c.cfg.LowWater*capacity)
	if c.used+c.reserved+size <= high {
		return nil
	}
	c.policy.SetCapacity(max(low-c.pinnedHeld, 0))
	var victims []string
	for c.used+c.reserved+size > low {
		key, _, ok := c.policy.Evict()
		if !ok {
			break
		}
		e := c.entries[key]
		delete(c.entries, key)
		c.used -= int64(e.size)
		c.evicted++
		c.evictedSize += int64(e.size)
		if _, busy := c.busy[key]; !busy {
			c.busy[key] = make(chan struct{})
			victims = append(victims, key)
		}
	}
	return victims
}

// removeVictims deletes evicted bytes and unlocks them. A failure leaves an
// orphan file that the next start finds and indexes again, so it is logged,
// not returned.
func (c *Catalog) removeVictims(keys []string) {
	for _, key := range keys {
		if err := c.backend.RemoveBlock(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.log.Warn("remove evicted block", "key", fmt.Sprintf("%x", key), "err", err)
		}
		c.Unlock(key)
	}
}

// Release returns a reservation whose write failed.
func (c *Catalog) Release(size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reserved -= size
}

// Commit turns a reservation into a held, verified block once its bytes
// are durable. The caller holds the block's lock. If a pinned set reaches
// the block as a dag-pb node whose links it lacks, Commit returns a
// function that adds them (and so on through held children); the caller
// runs it after releasing its locks, since marking reads blocks and may
// quarantine one.
func (c *Catalog) Commit(id cid.Cid, size int64, data []byte, verifiedAt time.Time) (expand func(context.Context)) {
	key := Key(id)
	c.mu.Lock()
	c.reserved -= size
	if _, ok := c.entries[key]; !ok {
		c.insertLocked(key, entry{size: uint32(size), verifiedAt: verifiedAt.UnixNano(), fresh: true})
	}
	targets := c.unexpandedLocked(key, id.Type())
	c.mu.Unlock()
	if len(targets) == 0 {
		return nil
	}
	return func(ctx context.Context) {
		// The block is durable and acknowledged whatever happens here; a
		// caller giving up must not leave a pinned DAG half marked.
		ctx = context.WithoutCancel(ctx)
		for _, t := range targets {
			if err := c.mark(ctx, t, []cid.Cid{id}, key, data); err != nil {
				c.log.Warn("mark links of pinned block", "cid", id, "err", err)
			}
		}
	}
}

// unexpandedLocked lists the pinned sets (live, and one being rebuilt) that
// reach key as a dag-pb block whose links they do not have yet.
func (c *Catalog) unexpandedLocked(key string, codec uint64) []*marks {
	var out []*marks
	for _, t := range []*marks{c.live, c.building} {
		if t == nil {
			continue
		}
		f, ok := t.m[key]
		if ok && f&flagExpanded == 0 && (f&flagDagPB != 0 || codec == cid.DagProtobuf) {
			out = append(out, t)
		}
	}
	return out
}
