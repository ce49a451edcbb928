package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipfs/boxo/ipld/merkledag"
	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
)

// Flags of a multihash in a pinned set.
const (
	flagDagPB    uint8 = 1 << iota // reached through a dag-pb CID: its links count when held
	flagExpanded                   // its links are in the set
)

// marks is a pinned set: every multihash a pinned root reaches through the
// dag-pb blocks held locally, including ones not held yet (so that they are
// protected the moment they arrive). It is rebuilt from the roots, never
// counted up and down, so it cannot drift.
type marks struct {
	m map[string]uint8
}

func newMarks() *marks { return &marks{m: map[string]uint8{}} }

// mark adds to t everything reachable from start through held dag-pb
// blocks. preKey's bytes, if set, are preData (a block being committed).
// Raw leaves are added without being read.
func (c *Catalog) mark(ctx context.Context, t *marks, start []cid.Cid, preKey string, preData []byte) error {
	queue := append([]cid.Cid(nil), start...)
	for len(queue) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("mark pinned blocks: %w", err)
		}
		id := queue[0]
		queue = queue[1:]
		key := Key(id)
		if !c.visit(t, id, key) {
			continue
		}
		data := preData
		if key != preKey || preData == nil {
			var err error
			data, err = c.backend.ReadBlock(ctx, id)
			if errors.Is(err, blockstore.ErrNotFound) || errors.Is(err, blockstore.ErrCorrupt) {
				continue // absent after all: its links join when it is stored
			}
			if err != nil {
				return fmt.Errorf("mark pinned blocks: read %s: %w", id, err)
			}
		}
		links, err := dagLinks(data)
		if err != nil {
			c.log.Warn("pinned dag-pb block does not decode; treating it as a leaf", "cid", id, "err", err)
		}
		queue = append(queue, c.expand(t, key, links)...)
	}
	return nil
}

// visit adds id to t and reports whether its links must be read: it is a
// held dag-pb block whose links t does not have.
func (c *Catalog) visit(t *marks, id cid.Cid, key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, seen := t.m[key]
	if id.Type() == cid.DagProtobuf {
		f |= flagDagPB
	}
	t.m[key] = f
	if !seen && t == c.live {
		c.pinEntryLocked(key)
	}
	_, held := c.entries[key]
	return held && f&flagDagPB != 0 && f&flagExpanded == 0
}

// expand records key's links in t and returns the dag-pb ones still to be
// visited.
func (c *Catalog) expand(t *marks, key string, links []cid.Cid) []cid.Cid {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.m[key]&flagExpanded != 0 {
		return nil // another marker got here first
	}
	t.m[key] |= flagExpanded
	var next []cid.Cid
	for _, l := range links {
		lk := Key(l)
		f, seen := t.m[lk]
		if l.Type() == cid.DagProtobuf {
			f |= flagDagPB
			if f&flagExpanded == 0 {
				next = append(next, l)
			}
		}
		t.m[lk] = f
		if !seen && t == c.live {
			c.pinEntryLocked(lk)
		}
	}
	return next
}

// pinEntryLocked takes a held block out of the eviction policy.
func (c *Catalog) pinEntryLocked(key string) {
	e, ok := c.entries[key]
	if !ok || e.pinned {
		return
	}
	e.pinned = true
	c.entries[key] = e
	c.pinnedHeld += int64(e.size)
	if c.policy != nil {
		c.policy.Remove(key)
	}
}

// unpinEntryLocked hands a held block back to the eviction policy.
func (c *Catalog) unpinEntryLocked(key string) {
	e, ok := c.entries[key]
	if !ok || !e.pinned {
		return
	}
	e.pinned = false
	c.entries[key] = e
	c.pinnedHeld -= int64(e.size)
	if c.policy != nil {
		c.policy.Add(key, int64(e.size))
	}
}

// dagLinks decodes a dag-pb block's links.
func dagLinks(data []byte) ([]cid.Cid, error) {
	n, err := merkledag.DecodeProtobuf(data)
	if err != nil {
		return nil, err
	}
	out := make([]cid.Cid, 0, len(n.Links()))
	for _, l := range n.Links() {
		out = append(out, l.Cid)
	}
	return out, nil
}
