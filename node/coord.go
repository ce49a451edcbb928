package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/mesh/policy"
	"github.com/meshcache/meshcache/prefetch"
)

// Timing of the region's coordination. A view is the members of this
// node's region recorded as pinning the dataset (want records in the DHT);
// a pin starts once its view has settled, so that members starting
// together agree on who owns which piece from the first read.
const (
	viewPoll       = 200 * time.Millisecond // while settling
	viewSettleMin  = 400 * time.Millisecond
	viewSettleMax  = 3 * time.Second
	viewRefresh    = time.Second // while pinning
	declinePause   = 250 * time.Millisecond
	maxViewMembers = 256
)

// coordinator is the mesh's prefetch.Coordinator: per pin, the members of
// the region that pin the same dataset share its origin reads by
// rendezvous ownership of pieces (mesh/policy), and take a piece over, in
// the policy's order, from an owner silent past the progress timeout.
type coordinator struct{ n *Node }

var _ prefetch.Coordinator = coordinator{}

func (c coordinator) Join(ctx context.Context, root cid.Cid, pieces policy.Pieces) (prefetch.Plan, error) {
	m := c.n.mesh
	m.primeHolders(root)
	ctx, cancel := context.WithCancel(ctx)
	pl := &plan{
		m: m, root: root, pieces: pieces, self: m.host.ID(), ctx: ctx, cancel: cancel,
		failed: map[peer.ID]error{}, peerCtx: map[peer.ID]*peerScope{}, probing: map[peer.ID]bool{}, joining: map[peer.ID]bool{}, dialing: map[peer.ID]bool{},
		source: peerSource{m: m, root: root},
	}
	if err := m.track(root, pieces.Leaves()); err != nil {
		cancel()
		return nil, err
	}
	// Recording the want is a DHT provide: a few round trips, or a dial
	// timeout when a stopped member is still in the routing tables. The pin
	// does not wait for it; it finds the others' wants itself.
	pl.wg.Add(1)
	go func() {
		defer pl.wg.Done()
		if err := m.discovery.Want(ctx, root, m.cfg.Region); err != nil && ctx.Err() == nil {
			// Alone in the mesh so far: the want is recorded again with
			// the re-provides.
			m.log.Debug("record want", "root", root, "err", err)
		}
	}()
	pl.setView(policy.NewView(0, []string{pl.self.String()}))
	pl.settle(ctx)
	pl.connect()
	pl.wg.Add(1)
	go func() {
		defer pl.wg.Done()
		pl.refreshLoop(ctx)
	}()
	return pl, nil
}

// track starts the availability sessions of root, counting plans: a pin
// replaced by another of the same root (another origin) overlaps its
// successor for a moment.
func (m *meshNode) track(root cid.Cid, leaves int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tracked[root] == 0 {
		if err := m.avail.Track(root, leaves, nil); err != nil {
			return err
		}
	}
	m.tracked[root]++
	return nil
}

func (m *meshNode) untrack(root cid.Cid) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tracked[root]--; m.tracked[root] <= 0 {
		delete(m.tracked, root)
		m.avail.Untrack(root)
	}
}

// plan is one pin's view of the region and of failed owners.
type plan struct {
	m      *meshNode
	root   cid.Cid
	pieces policy.Pieces
	self   peer.ID
	source peerSource // completed holders, asked before owners
	// ctx ends with the plan; wg tracks the plan's goroutines (the view's
	// refreshes and owner probes).
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	view    policy.View
	table   *policy.Table
	selfIdx int
	failed  map[peer.ID]error // owners given up for this pin, and why
	peerCtx map[peer.ID]*peerScope
	probing map[peer.ID]bool
	joining map[peer.ID]bool // availability sessions being opened
	dialing map[peer.ID]bool // wanters being connected to
	spread  int              // rotates the choice among holders of a block
}

// peerScope lets the plan cut off every request to an owner it gives up.
type peerScope struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// settle polls the view until it stops changing (or viewSettleMax).
func (pl *plan) settle(ctx context.Context) {
	start := time.Now()
	stable := 0
	for time.Since(start) < viewSettleMax && ctx.Err() == nil {
		if pl.refresh(ctx) {
			stable = 0
		} else {
			stable++
		}
		if stable >= 2 && time.Since(start) >= viewSettleMin {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(viewPoll):
		}
	}
	pl.mu.Lock()
	v := pl.view
	pl.mu.Unlock()
	pl.m.log.Info("pin view", "root", pl.root, "epoch", v.Epoch(), "digest", v.Digest(), "members", v.Len(), "settled_in", time.Since(start).Round(time.Millisecond))
}

func (pl *plan) refreshLoop(ctx context.Context) {
	t := time.NewTicker(viewRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed := pl.refresh(ctx)
			pl.connect()
			if changed {
				pl.mu.Lock()
				v := pl.view
				pl.mu.Unlock()
				pl.m.log.Info("pin view changed", "root", pl.root, "epoch", v.Epoch(), "digest", v.Digest(), "members", v.Len())
			}
		}
	}
}

// refresh looks the region's wanters up and reports whether the view
// changed.
func (pl *plan) refresh(ctx context.Context) bool {
	wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
	pl.m.waitRouting(wctx)
	wcancel()
	lctx, cancel := context.WithTimeout(ctx, viewLookupTimeout)
	found, err := pl.m.discovery.FindWanters(lctx, pl.root, pl.m.cfg.Region, maxViewMembers)
	cancel()
	if err != nil {
		pl.m.log.Debug("find wanters", "root", pl.root, "err", err)
		return false
	}
	// The view holds the live members: recorded wanters this node is
	// connected to and has authenticated. A want record outlives its
	// member by up to the records' TTL, and a view with a stopped member
	// would send its pieces through a timeout first; a wanter not yet
	// connected is dialed, and joins the view at the next refresh.
	members := []string{pl.self.String()}
	var dial []peer.AddrInfo
	for _, ai := range found {
		pl.m.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, time.Minute)
		if pl.m.auth.IsAuthenticated(ai.ID) && len(pl.m.host.Network().ConnsToPeer(ai.ID)) > 0 {
			members = append(members, ai.ID.String())
		} else {
			dial = append(dial, ai)
		}
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, ai := range dial {
		if pl.dialing[ai.ID] || pl.ctx.Err() != nil {
			continue
		}
		pl.dialing[ai.ID] = true
		pl.wg.Add(1)
		go func() {
			defer pl.wg.Done()
			ctx, cancel := context.WithTimeout(pl.ctx, pl.m.progressTimeout)
			if err := pl.m.host.Connect(ctx, ai); err == nil {
				pl.m.auth.WaitAuthenticated(ctx, ai.ID)
			}
			cancel()
			pl.mu.Lock()
			delete(pl.dialing, ai.ID)
			pl.mu.Unlock()
		}()
	}
	old := pl.view.Members()
	slices.Sort(members)
	members = slices.Compact(members)
	var gone []string
	for _, id := range old {
		if _, ok := slices.BinarySearch(members, id); !ok {
			gone = append(gone, id)
		}
	}
	v := pl.view.Apply(members, gone)
	if v.Stamp() == pl.view.Stamp() {
		return false
	}
	pl.setViewLocked(v)
	return true
}

func (pl *plan) setView(v policy.View) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	pl.setViewLocked(v)
}

func (pl *plan) setViewLocked(v policy.View) {
	pl.view = v
	pl.table = policy.NewTable(pl.root.KeyString(), v)
	pl.selfIdx = v.Index(pl.self.String())
}

// connect opens availability sessions with the view's members that have
// none yet (the service bounds them at tens per dataset). A member not
// pinning yet refuses; the next refresh tries again.
func (pl *plan) connect() {
	have := map[peer.ID]bool{}
	for _, p := range pl.m.avail.Peers(pl.root) {
		have[p] = true
	}
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for _, s := range pl.view.Members() {
		id, err := peer.Decode(s)
		if err != nil || id == pl.self || have[id] || pl.joining[id] || pl.failed[id] != nil || pl.ctx.Err() != nil {
			continue
		}
		pl.joining[id] = true
		pl.wg.Add(1)
		go func() {
			defer pl.wg.Done()
			ctx, cancel := context.WithTimeout(pl.ctx, pl.m.progressTimeout)
			err := pl.m.avail.Connect(ctx, pl.root, id)
			cancel()
			if err != nil {
				pl.m.log.Debug("availability session", "root", pl.root, "peer", id, "err", err)
			}
			pl.mu.Lock()
			delete(pl.joining, id)
			pl.mu.Unlock()
		}()
	}
}

// Have tells the availability sessions that this node holds leaf.
func (pl *plan) Have(leaf int64) {
	if err := pl.m.avail.Have(pl.root, leaf); err != nil {
		pl.m.log.Debug("announce leaf", "root", pl.root, "leaf", leaf, "err", err)
	}
}

// ownerLocked is the member that reads piece from the origin: the
// highest-ranked one not given up.
func (pl *plan) ownerLocked(piece int64) (peer.ID, bool) {
	i := pl.table.TakeoverIndex(piece, func(i int) bool {
		id, err := peer.Decode(pl.view.Member(i))
		return err != nil || pl.failed[id] != nil
	})
	if i < 0 || i == pl.selfIdx {
		return pl.self, true
	}
	id, _ := peer.Decode(pl.view.Member(i))
	return id, false
}

// Mine reports whether this node reads piece itself. Asked by the block
// server for a peer's want, it also notices when this node is next in
// line after an owner that may have stopped, and checks on that owner in
// the background: peers that gave the owner up come here next.
func (pl *plan) Mine(piece int64) bool {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	owner, mine := pl.ownerLocked(piece)
	if mine {
		return true
	}
	// Would this node be next if the owner were gone?
	pl.failed[owner] = errProbe
	_, next := pl.ownerLocked(piece)
	delete(pl.failed, owner)
	if next && !pl.probing[owner] && pl.ctx.Err() == nil {
		pl.probing[owner] = true
		pl.wg.Add(1)
		go func() {
			defer pl.wg.Done()
			pl.probe(owner)
		}()
	}
	return false
}

var errProbe = errors.New("probe")

// probe pings owner, and gives it up when it does not answer within the
// progress timeout.
func (pl *plan) probe(owner peer.ID) {
	err := pl.ping(pl.ctx, owner)
	pl.mu.Lock()
	delete(pl.probing, owner)
	pl.mu.Unlock()
	if err != nil && pl.ctx.Err() == nil {
		pl.fail(owner, fmt.Errorf("no answer to a ping: %w", err))
	}
}

// ping checks that p answers within the progress timeout.
func (pl *plan) ping(ctx context.Context, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, pl.m.progressTimeout)
	defer cancel()
	select {
	case res := <-ping.Ping(ctx, pl.m.host, p):
		return res.Error
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fail gives owner up for the rest of this pin and cuts off the requests
// waiting on it; its pieces pass to the next members in line.
func (pl *plan) fail(owner peer.ID, why error) {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.failed[owner] != nil {
		return
	}
	pl.failed[owner] = why
	if s := pl.peerCtx[owner]; s != nil {
		s.cancel()
		delete(pl.peerCtx, owner)
	}
	pl.m.log.Warn("piece owner given up; its pieces pass to the next in line", "root", pl.root, "peer", owner, "err", why,
		"epoch", pl.view.Epoch(), "digest", pl.view.Digest())
}

// scope is the context of requests to owner under ctx: it ends when the
// plan gives owner up.
func (pl *plan) scope(ctx context.Context, owner peer.ID) (context.Context, context.CancelFunc) {
	pl.mu.Lock()
	s := pl.peerCtx[owner]
	if s == nil {
		c, cancel := context.WithCancel(context.Background())
		s = &peerScope{ctx: c, cancel: cancel}
		pl.peerCtx[owner] = s
	}
	pl.mu.Unlock()
	rctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel)
	return rctx, func() { stop(); cancel() }
}

// Fetch gets want, blocks of piece, from members that completed the
// dataset, then from the piece's owner, waiting for the blocks to land
// there; a silent or faulty owner is given up and the next in line asked,
// until the piece is this node's own (ErrMine).
func (pl *plan) Fetch(ctx context.Context, piece int64, want []prefetch.Want, got prefetch.GotFunc) error {
	remaining := pl.fromHolders(ctx, want, got)
	remaining = pl.fromSessions(ctx, remaining, got)
	var declinedSince time.Time
	var declinedBy peer.ID
	for len(remaining) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		pl.mu.Lock()
		owner, mine := pl.ownerLocked(piece)
		pl.mu.Unlock()
		if mine {
			return fmt.Errorf("piece %d of %s: %w", piece, pl.root, prefetch.ErrMine)
		}
		byCID := make(map[cid.Cid]prefetch.Want, len(remaining))
		wants := make([]exchange.Want, len(remaining))
		for i, w := range remaining {
			byCID[w.CID] = w
			wants[i] = exchange.Want{CID: w.CID, Leaf: w.Leaf}
		}
		rctx, done := pl.scope(ctx, owner)
		missing, err := pl.m.client.FetchOwned(rctx, owner, pl.root, wants, func(b blocks.Block) error {
			return got(byCID[b.Cid()], b)
		})
		done()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		remaining = remaining[:0]
		for _, c := range missing {
			remaining = append(remaining, byCID[c])
		}
		var pe *exchange.PeerError
		switch {
		case errors.Is(err, exchange.ErrBusy):
			// Too many of our requests at the owner: not a fault.
			select {
			case <-ctx.Done():
			case <-time.After(declinePause):
			}
		case errors.Is(err, exchange.ErrBadBlock) || errors.Is(err, exchange.ErrProtocol):
			pl.m.penalties.judge(owner, err)
			pl.fail(owner, err)
		case errors.As(err, &pe):
			// Silent or cut off: a stopped or dead owner does not answer
			// a ping either, while one that is only starved of CPU or
			// disk for a moment does, and is asked again.
			if perr := pl.ping(ctx, owner); perr != nil {
				pl.fail(owner, fmt.Errorf("%w, and no answer to a ping: %w", err, perr))
			}
		case err != nil && rctx.Err() != nil:
			// Given up meanwhile (by another request or a probe).
		case err != nil:
			return err // the store could not keep a block
		case len(remaining) > 0:
			// The owner does not count itself the owner (yet): views
			// differ for a moment, or it has not seen its predecessor
			// stop. Ask again shortly; past the progress timeout, give it
			// up too.
			if declinedBy != owner {
				declinedBy, declinedSince = owner, time.Now()
			} else if time.Since(declinedSince) > pl.m.progressTimeout {
				pl.fail(owner, errors.New("declined its pieces past the progress timeout"))
				continue
			}
			select {
			case <-ctx.Done():
			case <-time.After(declinePause):
			}
		}
	}
	return nil
}

// fromSessions fetches the wanted leaves that members of the
// availability sessions hold, spreading them over the holders, and
// returns the rest. It costs nothing when no one holds them yet.
func (pl *plan) fromSessions(ctx context.Context, want []prefetch.Want, got prefetch.GotFunc) []prefetch.Want {
	assigned := map[peer.ID][]prefetch.Want{}
	var rest []prefetch.Want
	pl.mu.Lock()
	for _, w := range want {
		var usable []peer.ID
		for _, h := range pl.m.avail.Holders(pl.root, w.Leaf) {
			if pl.failed[h] == nil && !pl.m.penalties.penalised(h) {
				usable = append(usable, h)
			}
		}
		if len(usable) == 0 {
			rest = append(rest, w)
			continue
		}
		pl.spread++
		h := usable[pl.spread%len(usable)]
		assigned[h] = append(assigned[h], w)
	}
	pl.mu.Unlock()
	for h, ws := range assigned {
		byCID := make(map[cid.Cid]prefetch.Want, len(ws))
		cids := make([]cid.Cid, len(ws))
		for i, w := range ws {
			byCID[w.CID], cids[i] = w, w.CID
		}
		missing, err := pl.m.client.Fetch(ctx, h, cids, func(b blocks.Block) error { return got(byCID[b.Cid()], b) })
		if err != nil {
			pl.m.penalties.judge(h, err)
			pl.m.log.Debug("fetch from a session peer", "root", pl.root, "peer", h, "err", err)
		}
		for _, c := range missing {
			rest = append(rest, byCID[c])
		}
	}
	return rest
}

// fromHolders asks members that completed the dataset, if any, and
// returns what they did not deliver.
func (pl *plan) fromHolders(ctx context.Context, want []prefetch.Want, got prefetch.GotFunc) []prefetch.Want {
	var mu sync.Mutex
	delivered := make(map[int64]bool, len(want))
	err := pl.source.Fetch(ctx, want, func(w prefetch.Want, b blocks.Block) error {
		if err := got(w, b); err != nil {
			return err
		}
		mu.Lock()
		delivered[w.Leaf] = true
		mu.Unlock()
		return nil
	})
	if err != nil && !errors.Is(err, errNoHolders) {
		pl.m.log.Debug("fetch from holders", "root", pl.root, "err", err)
	}
	var out []prefetch.Want
	for _, w := range want {
		if !delivered[w.Leaf] {
			out = append(out, w)
		}
	}
	return out
}

// Close stops the view's refreshes, withdraws the want and releases the
// owners' scopes.
func (pl *plan) Close() {
	pl.cancel()
	pl.wg.Wait()
	pl.m.untrack(pl.root)
	pl.m.discovery.Unwant(pl.root, pl.m.cfg.Region)
	pl.mu.Lock()
	defer pl.mu.Unlock()
	for id, s := range pl.peerCtx {
		s.cancel()
		delete(pl.peerCtx, id)
	}
}
