// Package catalog is the part of a block store that holds no bytes: the
// index of held blocks, capacity accounting and eviction, pins and the
// pinned set with its marking, and per-block locks. The disk and memory
// stores keep the bytes and plug in through Backend, so both get the same
// semantics from one implementation.
//
// Blocks are keyed by multihash (string(c.Hash())), as boxo's stores are, so
// CIDs that differ only in codec or version name the same block.
package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/evict"
)

// Backend is what a store provides to the catalog.
type Backend interface {
	// ReadBlock returns a held block's bytes, verified as Get would verify
	// them. An error wrapping blockstore.ErrNotFound or ErrCorrupt makes
	// marking treat the block as absent; any other error aborts it.
	ReadBlock(ctx context.Context, c cid.Cid) ([]byte, error)
	// RemoveBlock deletes the bytes of key. Its entry has already left the
	// index and the catalog holds its lock.
	RemoveBlock(key string) error
	// SavePins stores the pin list durably.
	SavePins(pins []blockstore.Pin) error
}

// Config sizes the catalog.
type Config struct {
	Capacity  int64   // bytes; 0 means unlimited (nothing is ever evicted)
	HighWater float64 // fraction of Capacity above which Reserve evicts
	LowWater  float64 // fraction of Capacity eviction brings usage down to
	Policy    evict.Name
}

// Validate says which field is wrong.
func (c Config) Validate() error {
	switch {
	case c.Capacity < 0:
		return fmt.Errorf("capacity %d: must not be negative", c.Capacity)
	case c.HighWater <= 0 || c.HighWater > 1:
		return fmt.Errorf("high watermark %v: must be in (0, 1]", c.HighWater)
	case c.LowWater <= 0 || c.LowWater > c.HighWater:
		return fmt.Errorf("low watermark %v: must be in (0, high watermark %v]", c.LowWater, c.HighWater)
	case evict.New(c.Policy, 1) == nil:
		return fmt.Errorf("eviction policy %q: unknown (want one of %v)", c.Policy, evict.Names())
	}
	return nil
}

// entry is one held block. Kept small: there is one per block held.
type entry struct {
	verifiedAt int64  // unix nanoseconds of the last successful hash check in this run; 0: never
	size       uint32 // bytes (blocks are at most blockstore.MaxBlockSize)
	pinned     bool   // a pinned root reaches it; then it is not in the policy
	fresh      bool   // stored and not yet read: the first read is part of the miss
}

// Entry is what the index knows of a held block.
type Entry struct {
	Size       int64
	VerifiedAt time.Time // zero: not verified since start
	Pinned     bool
}

// Catalog is safe for concurrent use.
type Catalog struct {
	cfg     Config
	backend Backend
	log     *slog.Logger

	// pinMu serialises Pin, Unpin, GC and Remark; it is taken before mu.
	pinMu sync.Mutex

	mu          sync.Mutex
	entries     map[string]entry
	busy        map[string]chan struct{} // locked keys
	policy      evict.Policy             // unpinned held blocks; nil when capacity is unlimited
	used        int64                    // bytes held
	reserved    int64                    // bytes claimed by writes in progress
	pinnedHeld  int64                    // bytes held that pins reach
	pins        map[cid.Cid]int64        // root -> reserved size
	pinTotal    int64
	live        *marks // the pinned set
	building    *marks // a pinned set being recomputed, or nil
	evicted     int64
	evictedSize int64
	corrupt     int64
	verified    int64
}

// New returns an empty catalog. cfg must be valid.
func New(cfg Config, backend Backend, log *slog.Logger) *Catalog {
	c := &Catalog{cfg: cfg, backend: backend, log: log,
		entries: map[string]entry{}, busy: map[string]chan struct{}{},
		pins: map[cid.Cid]int64{}, live: newMarks()}
	if cfg.Capacity > 0 {
		c.policy = evict.New(cfg.Policy, cfg.Capacity)
	}
	return c
}

// Key is the index key of c.
func Key(c cid.Cid) string { return string(c.Hash()) }

// Lock waits until no one else holds key, then holds it. Every change to a
// block's bytes or entry happens under its lock.
func (c *Catalog) Lock(ctx context.Context, key string) error {
	for {
		c.mu.Lock()
		ch, held := c.busy[key]
		if !held {
			c.busy[key] = make(chan struct{})
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Unlock releases key.
func (c *Catalog) Unlock(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.unlockLocked(key)
}

func (c *Catalog) unlockLocked(key string) {
	if ch, ok := c.busy[key]; ok {
		close(ch)
		delete(c.busy, key)
	}
}

// Lookup returns key's entry.
func (c *Catalog) Lookup(key string) (Entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return Entry{}, false
	}
	out := Entry{Size: int64(e.size), Pinned: e.pinned}
	if e.verifiedAt != 0 {
		out.VerifiedAt = time.Unix(0, e.verifiedAt)
	}
	return out, true
}

// Keys returns a snapshot of every held key.
func (c *Catalog) Keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.entries))
	for k := range c.entries {
		keys = append(keys, k)
	}
	return keys
}

// Hit records a read of key.
func (c *Catalog) Hit(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return
	}
	if e.fresh {
		e.fresh = false
		c.entries[key] = e
		return
	}
	if !e.pinned && c.policy != nil {
		c.policy.Hit(key)
	}
}

// Verified records that key's bytes hashed to its CID at t.
func (c *Catalog) Verified(key string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		e.verifiedAt = t.UnixNano()
		c.entries[key] = e
	}
}

// VerifiedRead counts a read that re-hashed its block (Stats.VerifiedReads).
func (c *Catalog) VerifiedRead() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.verified++
}

// Load adds a block found on disk at start, unverified. Call before Remark.
func (c *Catalog) Load(key string, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	c.insertLocked(key, entry{size: uint32(size)})
}

// insertLocked adds e, pinned if the pinned set reaches key.
func (c *Catalog) insertLocked(key string, e entry) {
	_, e.pinned = c.live.m[key]
	c.entries[key] = e
	c.used += int64(e.size)
	if e.pinned {
		c.pinnedHeld += int64(e.size)
	} else if c.policy != nil {
		c.policy.Add(key, int64(e.size))
	}
}

// Forget removes key's entry; the caller holds key's lock and disposes of
// the bytes. It reports whether the entry existed.
func (c *Catalog) Forget(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.forgetLocked(key)
}

func (c *Catalog) forgetLocked(key string) bool {
	e, ok := c.entries[key]
	if !ok {
		return false
	}
	delete(c.entries, key)
	c.used -= int64(e.size)
	if e.pinned {
		c.pinnedHeld -= int64(e.size)
	} else if c.policy != nil {
		c.policy.Remove(key)
	}
	return true
}

// Quarantined counts a block found corrupt; the caller has forgotten it.
func (c *Catalog) Quarantined() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corrupt++
}

// Stats reports usage and counters.
func (c *Catalog) Stats() blockstore.Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return blockstore.Stats{
		Blocks: int64(len(c.entries)), Bytes: c.used, Capacity: c.cfg.Capacity,
		PinnedBytes: c.pinTotal, Corrupt: c.corrupt, Evicted: c.evicted,
		EvictedBytes: c.evictedSize, VerifiedReads: c.verified,
	}
}
