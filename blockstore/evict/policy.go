// Package evict holds the block store's eviction policies behind one small
// interface, and a trace simulator that measures their hit ratios. The disk
// store uses the policy that won the measurements in docs/eviction.md.
//
// A policy tracks only evictable blocks (the store removes a block from the
// policy when a pin comes to reach it). Sizes are in bytes so that small
// metadata blocks and 1 MiB leaves share one budget.
package evict

// Policy orders evictable blocks. It is not safe for concurrent use: the
// store calls it under its own lock.
type Policy interface {
	// Name says which policy this is, for reports.
	Name() string
	// Add admits a block just stored after a miss. key must not be held.
	Add(key string, size int64)
	// Hit records a read of a held block.
	Hit(key string)
	// Remove forgets key, held or remembered as a ghost.
	Remove(key string)
	// Evict picks a victim, forgets it and returns it; ok is false when no
	// block is held.
	Evict() (key string, size int64, ok bool)
	// Contains reports whether key is held (ghosts do not count).
	Contains(key string) bool
	// SetCapacity tells the policy how many bytes the cache holds, which
	// sizes its internal queues and its memory of evicted keys.
	SetCapacity(bytes int64)
	// Len and Bytes count held blocks and their bytes.
	Len() int
	Bytes() int64
}

// Name identifies a policy for configuration and reports.
type Name string

// The policies this package implements.
const (
	LRU    Name = "lru"
	TwoQ   Name = "2q"
	S3FIFO Name = "s3-fifo"
	LIRS   Name = "lirs"
)

// Default is the policy the disk store uses: LIRS keeps a fixed part of a
// dataset larger than the cache across epochs where LRU and 2Q keep nothing
// (docs/eviction.md has the measurements, and TestDefaultBeatsLRU holds it
// to them).
const Default = LIRS

// Names lists every policy, in report order.
func Names() []Name { return []Name{LRU, TwoQ, S3FIFO, LIRS} }

// New returns the named policy sized for capacity bytes, or nil for an
// unknown name.
func New(name Name, capacity int64) Policy {
	switch name {
	case LRU:
		return NewLRU()
	case TwoQ:
		return NewTwoQ(capacity)
	case S3FIFO:
		return NewS3FIFO(capacity)
	case LIRS:
		return NewLIRS(capacity)
	}
	return nil
}
