package exchange

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// BatchSize is the most CIDs per request. Default 16 (16 MiB of 1 MiB
	// blocks: big enough to amortise a round trip, small enough that
	// several batches share the link).
	BatchSize int
	// InFlight is how many batches one Fetch runs at once. Default 4.
	InFlight int
	// PerPeer caps batches in flight to one peer over all Fetch calls;
	// keep it at or below the servers' PerPeerRequests. Default 16.
	PerPeer int
	// IdleTimeout is the longest a batch waits for the peer's next frame
	// (opening the stream, a block, a DONT_HAVE, or a keepalive the owner
	// of a piece sends while fetching it): a stopped or stalled peer is
	// given up after it, however long the batch as a whole takes. Default
	// 15 s.
	IdleTimeout time.Duration
	Logger       *slog.Logger
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.BatchSize == 0 {
		c.BatchSize = 16
	}
	if c.InFlight == 0 {
		c.InFlight = 4
	}
	if c.PerPeer == 0 {
		c.PerPeer = 16
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 15 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field (after defaults).
func (c ClientConfig) Validate() error {
	switch {
	case c.BatchSize < 1 || c.BatchSize > MaxBatch:
		return fmt.Errorf("exchange client: BatchSize %d, want 1..%d", c.BatchSize, MaxBatch)
	case c.InFlight < 1:
		return fmt.Errorf("exchange client: InFlight %d, want >= 1", c.InFlight)
	case c.PerPeer < 1:
		return fmt.Errorf("exchange client: PerPeer %d, want >= 1", c.PerPeer)
	case c.IdleTimeout < 0:
		return errors.New("exchange client: negative IdleTimeout")
	}
	return nil
}

// Client fetches blocks from peers.
type Client struct {
	h     host.Host
	cfg   ClientConfig
	log   *slog.Logger
	stats *counters
	limit *peerLimit
}

// NewClient returns a client using h's connections. It starts nothing.
func NewClient(h host.Host, cfg ClientConfig) (*Client, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Client{h: h, cfg: cfg, log: cfg.Logger.With("component", "exchange-client"), stats: newCounters(), limit: newPeerLimit(cfg.PerPeer)}, nil
}

// Stats returns counters per peer fetched from.
func (c *Client) Stats() map[peer.ID]PeerStats { return c.stats.snapshot() }

// Fetch asks p for cids, in batches of BatchSize with up to InFlight at
// once, and hands every verified block to got, which may be called
// concurrently. It returns the CIDs not delivered (the peer's DONT_HAVE
// and whatever a failure left unfetched), in request order. err is the
// first failure: a *PeerError (wrapping ErrBadBlock, ErrProtocol, ErrBusy,
// ErrTimeout or a stream error) for the peer's faults, the context's error,
// or got's error. After a failure the remaining batches are abandoned.
func (c *Client) Fetch(ctx context.Context, p peer.ID, cids []cid.Cid, got func(blocks.Block) error) ([]cid.Cid, error) {
	return c.fetch(ctx, p, request{cids: cids}, got)
}

// Want is a block asked for with its place in a dataset: its leaf index.
type Want struct {
	CID  cid.Cid
	Leaf int64
}

// FetchOwned asks p for blocks of dataset root as the owner of their
// pieces: p answers at once with the blocks it holds and, for those it is
// fetching itself as their piece's owner, once they land, sending
// keepalives meanwhile (a peer that goes silent for IdleTimeout fails with
// ErrTimeout). Results and errors are as Fetch's.
func (c *Client) FetchOwned(ctx context.Context, p peer.ID, root cid.Cid, wants []Want, got func(blocks.Block) error) ([]cid.Cid, error) {
	if !root.Defined() {
		return nil, errors.New("exchange client: FetchOwned without a dataset root")
	}
	req := request{root: root, cids: make([]cid.Cid, len(wants)), leaves: make([]int64, len(wants))}
	for i, w := range wants {
		req.cids[i], req.leaves[i] = w.CID, w.Leaf
	}
	return c.fetch(ctx, p, req, got)
}

// fetch runs req in batches; see Fetch.
func (c *Client) fetch(ctx context.Context, p peer.ID, req request, got func(blocks.Block) error) ([]cid.Cid, error) {
	cids := req.cids
	if len(cids) == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	delivered := make([]bool, len(cids))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	sem := make(chan struct{}, c.cfg.InFlight)
	for start := 0; start < len(cids); start += c.cfg.BatchSize {
		end := min(start+c.cfg.BatchSize, len(cids))
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			batch := request{root: req.root, cids: cids[start:end]}
			if req.leaves != nil {
				batch.leaves = req.leaves[start:end]
			}
			if err := c.fetchBatch(ctx, p, batch, delivered[start:end], got); err != nil {
				fail(err)
			}
		}()
	}
	wg.Wait()
	var missing []cid.Cid
	for i, ok := range delivered {
		if !ok {
			missing = append(missing, cids[i])
		}
	}
	if firstErr == nil {
		// A cancelled caller stops the loop before any batch fails.
		firstErr = context.Cause(ctx)
		if errors.Is(firstErr, context.Canceled) && len(missing) == 0 {
			firstErr = nil
		}
	}
	return missing, firstErr
}

// fetchBatch runs one request on its own stream and marks delivered[i] for
// each block handed to got.
func (c *Client) fetchBatch(ctx context.Context, p peer.ID, req request, delivered []bool, got func(blocks.Block) error) error {
	release, err := c.limit.acquire(ctx, p)
	if err != nil {
		return context.Cause(ctx)
	}
	defer release()
	pc := c.stats.of(p)
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The idle timer cancels the batch when the peer stays silent; every
	// frame read pushes it back.
	idle := time.AfterFunc(c.cfg.IdleTimeout, func() { cancel(ErrTimeout) })
	defer idle.Stop()
	// Our own store may take long to keep a block (a slow disk): the peer
	// is not silent meanwhile, so the timer stops while got runs.
	idleTimer := idleTimer{alive: func() { idle.Reset(c.cfg.IdleTimeout) }, pause: func() { idle.Stop() }}
	err = c.runBatch(bctx, p, pc, req, delivered, got, idleTimer)
	if err == nil {
		return nil
	}
	var ge gotError
	if errors.As(err, &ge) {
		return ge.err
	}
	// A stream reset by cancellation surfaces as a stream error; report
	// why it was reset instead.
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if bctx.Err() != nil {
		err = context.Cause(bctx)
	}
	var pe *PeerError
	if !errors.As(err, &pe) {
		err = &PeerError{Peer: p, Err: err}
	}
	if !errors.Is(err, ErrBadBlock) {
		pc.errors.Add(1)
	}
	return err
}

// gotError carries the caller's own error out of a batch untouched.
type gotError struct{ err error }

func (e gotError) Error() string { return e.err.Error() }

// idleTimer is a batch's view of its idle timer: alive pushes it back,
// pause stops it until the next alive.
type idleTimer struct{ alive, pause func() }

func (c *Client) runBatch(ctx context.Context, p peer.ID, pc *peerCounters, req request, delivered []bool, got func(blocks.Block) error, idle idleTimer) error {
	alive := idle.alive
	cids := req.cids
	frame, err := appendRequest(nil, req)
	if err != nil {
		return err
	}
	st, err := c.h.NewStream(ctx, p, ProtocolID)
	if err != nil {
		return fmt.Errorf("open stream: %w", err)
	}
	// Reads and writes block without a context: cancellation and the
	// batch timeout reset the stream to end them.
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	alive()
	if _, err := st.Write(frame); err != nil {
		_ = st.Reset()
		return fmt.Errorf("send request: %w", err)
	}
	_ = st.CloseWrite()
	r := bufio.NewReaderSize(st, 16<<10)
	for i, want := range cids {
		blk, err := c.readOne(r, p, pc, want, alive)
		if err != nil {
			_ = st.Reset()
			return err
		}
		if blk == nil {
			continue
		}
		idle.pause()
		err = got(blk)
		alive()
		if err != nil {
			_ = st.Reset()
			return gotError{fmt.Errorf("deliver block %s: %w", want, err)}
		}
		delivered[i] = true
		pc.blocksReceived.Add(1)
	}
	// The server ends the stream after freeing the request's slot; waiting
	// for the end keeps our per-peer limit in step with the server's.
	if _, err := r.ReadByte(); err != io.EOF {
		_ = st.Reset()
		if err == nil {
			return protocolError(p, cid.Undef, fmt.Errorf("%w: bytes after the last answer", errFrame))
		}
		return fmt.Errorf("wait for end of batch: %w", err)
	}
	return st.Close()
}

// readOne reads the answer for want: a verified block, or nil for
// DONT_HAVE. Keepalives before the answer call alive.
func (c *Client) readOne(r *bufio.Reader, p peer.ID, pc *peerCounters, want cid.Cid, alive func()) (blocks.Block, error) {
	status, size, err := readAnswer(r)
	waited := false
	for err == nil && status == statusPending {
		alive()
		waited = true
		status, size, err = readAnswer(r)
	}
	if err != nil {
		return nil, protocolError(p, want, err)
	}
	alive()
	if waited {
		pc.waits.Add(1)
	}
	switch status {
	case statusDontHave:
		pc.dontHave.Add(1)
		return nil, nil
	case statusBusy:
		pc.busy.Add(1)
		return nil, &PeerError{Peer: p, Err: ErrBusy}
	}
	// size was checked against MaxBlockSize before this allocation.
	data := make([]byte, size)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, protocolError(p, want, fmt.Errorf("read %d block bytes: %w", size, eofIsUnexpected(err)))
	}
	pc.bytesReceived.Add(int64(size))
	blk, err := verify(want, data)
	if err != nil {
		pc.badBlocks.Add(1)
		return nil, &PeerError{Peer: p, CID: want, Err: err}
	}
	return blk, nil
}

// protocolError classifies a read failure: malformed or truncated frames
// are the peer's protocol violations; other errors (a reset, a timeout)
// are passed on as they are.
func protocolError(p peer.ID, c cid.Cid, err error) error {
	if errors.Is(err, errFrame) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	return &PeerError{Peer: p, CID: c, Err: err}
}

// verify hashes data with c's own hash function and compares.
func verify(c cid.Cid, data []byte) (blocks.Block, error) {
	sum, err := c.Prefix().Sum(data)
	if err != nil {
		return nil, fmt.Errorf("%w: hash: %w", ErrBadBlock, err)
	}
	if !sum.Equals(c) {
		return nil, fmt.Errorf("%w: bytes hash to %s", ErrBadBlock, sum)
	}
	return blocks.NewBlockWithCid(data, c)
}
