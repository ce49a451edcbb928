package exchange

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
	mhcore "github.com/multiformats/go-multihash/core"

	"github.com/meshcache/meshcache/blockstore"
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
	Logger      *slog.Logger
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
	blk, err := readBlock(r, want, size)
	var bad badBlockError
	switch {
	case errors.As(err, &bad):
		pc.bytesReceived.Add(int64(size))
		pc.badBlocks.Add(1)
		return nil, &PeerError{Peer: p, CID: want, Err: bad.err}
	case err != nil:
		return nil, protocolError(p, want, err)
	}
	pc.bytesReceived.Add(int64(size))
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

// hashChunk is the least a block's reader hashes at once. Each stretch is
// hashed right after the read that copied it in, while it is still in the
// reading core's cache: hashing a whole 1 MiB block after the last read
// cost 1.35–2.2× as much CPU here as hashing the same bytes as they come
// (pprof, same run; see docs/bench-mesh.md). Reads are not capped, so a
// block already buffered by the transport is copied out in as few calls
// as raw quic-go's reader makes.
const hashChunk = 64 << 10

// badBlockError marks a block that arrived whole but does not match its
// CID, as opposed to a failed read.
type badBlockError struct{ err error }

func (e badBlockError) Error() string { return e.err.Error() }
func (e badBlockError) Unwrap() error { return e.err }

// readBlock reads a block of size bytes into its own buffer (the caller
// keeps it), hashing it as it arrives, and checks it against want.
func readBlock(r *bufio.Reader, want cid.Cid, size int) (blocks.Block, error) {
	data := make([]byte, size)
	h, herr := newBlockHasher(want)
	hashed := 0
	for off := 0; off < size; {
		n, err := r.Read(data[off:])
		off += n
		if off < size && err != nil {
			return nil, fmt.Errorf("read %d block bytes: %w", size, eofIsUnexpected(err))
		}
		if herr == nil && (off-hashed >= hashChunk || off == size) {
			h.h.Write(data[hashed:off])
			hashed = off
		}
	}
	if herr != nil {
		return nil, badBlockError{herr}
	}
	sum, err := h.sum()
	if err != nil {
		return nil, badBlockError{err}
	}
	if !sum.Equals(want) {
		return nil, badBlockError{fmt.Errorf("%w: bytes hash to %s", ErrBadBlock, sum)}
	}
	// Marked verified: the store that keeps it need not hash it again.
	blk, err := blockstore.VerifiedBy(want, sum, data)
	if err != nil {
		return nil, badBlockError{fmt.Errorf("%w: %w", ErrBadBlock, err)}
	}
	return blk, nil
}

// blockHasher computes a CID incrementally, exactly as cid.Prefix.Sum
// does for the whole block at once.
type blockHasher struct {
	h      hash.Hash
	prefix cid.Prefix
	length int
}

func newBlockHasher(c cid.Cid) (*blockHasher, error) {
	p := c.Prefix()
	length := p.MhLength
	if p.MhType == mh.IDENTITY {
		length = -1
	}
	if p.Version == 0 && (p.MhType != mh.SHA2_256 || (p.MhLength != 32 && p.MhLength != -1)) {
		return nil, fmt.Errorf("%w: invalid CIDv0 prefix", ErrBadBlock)
	}
	h, err := mhcore.GetVariableHasher(p.MhType, length)
	if err != nil {
		return nil, fmt.Errorf("%w: hash: %w", ErrBadBlock, err)
	}
	return &blockHasher{h: h, prefix: p, length: length}, nil
}

// sum is the CID of the bytes written so far.
func (b *blockHasher) sum() (cid.Cid, error) {
	digest := b.h.Sum(nil)
	length := b.length
	if length < 0 {
		length = b.h.Size()
	}
	if len(digest) < length {
		return cid.Undef, fmt.Errorf("%w: hash: %w", ErrBadBlock, mh.ErrLenTooLarge)
	}
	m, err := mh.Encode(digest[:length], b.prefix.MhType)
	if err != nil {
		return cid.Undef, fmt.Errorf("%w: hash: %w", ErrBadBlock, err)
	}
	if b.prefix.Version == 0 {
		return cid.NewCidV0(m), nil
	}
	return cid.NewCidV1(b.prefix.Codec, m), nil
}
