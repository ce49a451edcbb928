package disk

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/blockstore/evict"
	"github.com/meshcache/meshcache/blockstore/internal/catalog"
	"github.com/meshcache/meshcache/blockstore/vfs"
)

// VerifyMode says when Get re-hashes a block it serves.
type VerifyMode int

const (
	// VerifyFirst re-hashes a block the first time it is served after each
	// start; the background scrub covers blocks nobody reads.
	VerifyFirst VerifyMode = iota
	// VerifyAlways re-hashes on every read.
	VerifyAlways
)

func (m VerifyMode) String() string {
	switch m {
	case VerifyFirst:
		return "first"
	case VerifyAlways:
		return "always"
	}
	return fmt.Sprintf("VerifyMode(%d)", int(m))
}

// ParseVerifyMode parses "first" or "always" (the --verify-reads values).
func ParseVerifyMode(s string) (VerifyMode, error) {
	switch s {
	case "first", "":
		return VerifyFirst, nil
	case "always":
		return VerifyAlways, nil
	}
	return 0, fmt.Errorf("verify-reads %q: want \"first\" or \"always\"", s)
}

// Config configures a disk store. Zero values take the defaults noted.
type Config struct {
	// Dir holds the store: blocks/, quarantine/ and pins.json. Required.
	Dir string
	// FS is the file system all access goes through. Default vfs.OS{}.
	FS vfs.FS
	// Capacity in bytes of block data; 0 means unlimited (no eviction).
	Capacity int64
	// HighWater and LowWater are fractions of Capacity: a Put that takes
	// usage above HighWater evicts unpinned blocks down to LowWater.
	// Defaults 0.95 and 0.90.
	HighWater, LowWater float64
	// VerifyReads: VerifyFirst (default) or VerifyAlways.
	VerifyReads VerifyMode
	// ScrubInterval: Run re-verifies each block not verified for this long,
	// and starts a new pass at most this often. Default 24h; negative
	// disables the scrub.
	ScrubInterval time.Duration
	// ScrubRate bounds the scrub's reading, in bytes per second. Default
	// 64 MiB/s.
	ScrubRate int64
	// WriteParallelism is how many blocks of one PutMany are written (and,
	// outside group sync, fsynced) at once. Default 4 (fsyncs and O_DIRECT
	// writes in parallel beat one at a time).
	WriteParallelism int
	// GroupSyncMin: a PutMany with at least this many new blocks makes
	// them durable with two syncfs(2) calls (after writing, after renaming)
	// instead of an fsync per block and per shard directory: the same
	// guarantees, several times fewer disk flushes (see groupsync.go).
	// syncfs also writes back everything else dirty on the file system; a
	// store sharing its disk with heavy unrelated writers can turn it off
	// with a negative value. Default 4.
	GroupSyncMin int
	// Policy is the eviction policy. Default evict.Default.
	Policy evict.Name
	// OnCorrupt, when set, is told of each block quarantined because it
	// failed verification (by a read, the scrub or marking), after the
	// store dropped it, so that the owner of a pin that needs the block can
	// fetch it again. It must not block.
	OnCorrupt func(c cid.Cid)
	// Logger; default discards.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.FS == nil {
		c.FS = vfs.OS{}
	}
	if c.HighWater == 0 {
		c.HighWater = 0.95
	}
	if c.LowWater == 0 {
		c.LowWater = 0.90
	}
	if c.ScrubInterval == 0 {
		c.ScrubInterval = 24 * time.Hour
	}
	if c.ScrubRate == 0 {
		c.ScrubRate = 64 << 20
	}
	if c.WriteParallelism == 0 {
		c.WriteParallelism = 4
	}
	if c.GroupSyncMin == 0 {
		c.GroupSyncMin = defaultGroupSyncMin
	}
	if c.Policy == "" {
		c.Policy = evict.Default
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate says which field is wrong (after defaults).
func (c Config) Validate() error {
	d := c.withDefaults()
	switch {
	case d.Dir == "":
		return errors.New("dir: required")
	case d.VerifyReads != VerifyFirst && d.VerifyReads != VerifyAlways:
		return fmt.Errorf("verify reads: unknown mode %d", d.VerifyReads)
	case d.ScrubRate < 0:
		return fmt.Errorf("scrub rate %d: must not be negative", d.ScrubRate)
	case d.WriteParallelism < 0:
		return fmt.Errorf("write parallelism %d: must not be negative", d.WriteParallelism)
	}
	return d.catalogConfig().Validate()
}

func (c Config) catalogConfig() catalog.Config {
	return catalog.Config{Capacity: c.Capacity, HighWater: c.HighWater, LowWater: c.LowWater, Policy: c.Policy}
}
