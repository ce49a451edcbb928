package prefetch

import (
	"context"
	"errors"
	"sync"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/dataset"
	"github.com/meshcache/meshcache/mesh/policy"
)

// ErrMine: the piece is this node's to read from the origin (it owns it,
// or its owner failed and this node is next in line).
var ErrMine = errors.New("piece is this node's to read")

// Coordinator shares a region's origin reads of a dataset among the
// members pinning it at once: each piece is read from the origin by one
// member, its owner, and the others get its blocks from the owner as they
// land. The mesh implements it; without one a node reads everything
// itself.
type Coordinator interface {
	// Join starts coordinating a pin of root, cut into pieces. The plan
	// lives until its Close.
	Join(ctx context.Context, root cid.Cid, pieces policy.Pieces) (Plan, error)
}

// Plan is one pin's share of the region's work.
type Plan interface {
	// Mine reports whether this node reads piece from the origin itself.
	// It is asked again and again as views change and owners fail, and
	// must be cheap.
	Mine(piece int64) bool
	// Fetch obtains want, blocks of piece, from the piece's owner,
	// waiting for them to land there. It returns an error wrapping ErrMine
	// when the piece becomes this node's to read (its owners failed).
	Fetch(ctx context.Context, piece int64, want []Want, got GotFunc) error
	// Have tells the plan that this node now holds leaf (fetched, or
	// found already local), so that peers may fetch it from here.
	Have(leaf int64)
	// Close ends the plan: the node stops taking part for this pin.
	Close()
}

// solo is the plan of a node without a coordinator: every piece is its own.
type solo struct{}

func (solo) Mine(int64) bool { return true }
func (solo) Fetch(context.Context, int64, []Want, GotFunc) error {
	return ErrMine
}
func (solo) Have(int64) {}
func (solo) Close()     {}

// pinWork is what a running pin shares with the block server: which pieces
// are this node's, the queue of pieces it reads itself, and the blocks
// peers wait for.
type pinWork struct {
	idx     *dataset.Index
	pieces  policy.Pieces
	plan    Plan
	landing *landing

	mu     sync.Mutex
	queued []bool // piece sent to own (at most once each)
	own    chan int64
	closed bool
}

func newPinWork(idx *dataset.Index, pieces policy.Pieces, plan Plan) *pinWork {
	n := pieces.Count()
	return &pinWork{
		idx: idx, pieces: pieces, plan: plan, landing: newLanding(),
		queued: make([]bool, n),
		own:    make(chan int64, n), // each piece is sent once: sends never block
	}
}

// mine queues piece for this node's own origin reads, once.
func (w *pinWork) mine(piece int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || piece < 0 || piece >= int64(len(w.queued)) || w.queued[piece] {
		return
	}
	w.queued[piece] = true
	w.own <- piece
}

// closeOwn ends the queue of own pieces: later promotions are dropped (the
// pin has handled every piece by then).
func (w *pinWork) closeOwn() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.own)
	}
}

// Pending answers the block server for a peer's want of leaf (CID c) of
// root: a channel closed when the block lands here, or nil unless this
// node is pinning root and reads that leaf's piece from the origin itself.
// A want for such a piece moves it into this node's queue, so that a piece
// this node took over is read without waiting for its own turn to find
// out. Nothing else is fetched on a peer's behalf.
func (m *Manager) Pending(root cid.Cid, leaf int64, c cid.Cid) <-chan struct{} {
	m.mu.Lock()
	j := m.jobs[root]
	m.mu.Unlock()
	if j == nil {
		return nil
	}
	w := j.work.Load()
	if w == nil {
		return nil
	}
	piece := w.pieces.Of(leaf)
	if piece < 0 {
		return nil
	}
	if l, err := w.idx.Leaf(leaf); err != nil || l.CID != c {
		return nil // a want that does not match the dataset is not queued
	}
	if !w.plan.Mine(piece) {
		return nil
	}
	ch := w.landing.wait(c)
	if ch == nil {
		return nil
	}
	// The block may have landed between the server's read and the wait.
	if has, err := m.cfg.Store.Has(context.Background(), c); err == nil && has {
		w.landing.landed(c)
	}
	w.mine(piece)
	return ch
}

// landing wakes peers' wants when the blocks they wait for are stored.
type landing struct {
	mu     sync.Mutex
	waits  map[cid.Cid]chan struct{}
	closed bool
}

func newLanding() *landing { return &landing{waits: map[cid.Cid]chan struct{}{}} }

// wait returns a channel closed when c lands or the pin ends; nil once the
// pin has ended.
func (l *landing) wait(c cid.Cid) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	ch, ok := l.waits[c]
	if !ok {
		ch = make(chan struct{})
		l.waits[c] = ch
	}
	return ch
}

// landed wakes the waiters of c.
func (l *landing) landed(c cid.Cid) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch, ok := l.waits[c]; ok {
		close(ch)
		delete(l.waits, c)
	}
}

// close wakes every waiter: the pin ended, and they answer from whatever
// the store holds.
func (l *landing) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for c, ch := range l.waits {
		close(ch)
		delete(l.waits, c)
	}
}
