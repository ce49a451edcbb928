package exchange

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"golang.org/x/sync/semaphore"
)

// Getter is all the server may consult: blocks the node holds. A
// blockstore.Store satisfies it. It must never fetch from elsewhere (an
// origin, another peer): a peer's request must not cost more than a local
// read. A not-found error (format.ErrNotFound) answers DONT_HAVE; any other
// error too, and is logged.
type Getter interface {
	Get(ctx context.Context, c cid.Cid) (blocks.Block, error)
}

// Viewer is what a Getter may also offer (boxo's blockstore.Viewer): the
// block's bytes lent for the length of fn, which spares a disk store a
// fresh buffer per block served. The server writes the block inside fn.
type Viewer interface {
	View(ctx context.Context, c cid.Cid, fn func([]byte) error) error
}

// GetterFunc adapts a function to Getter.
type GetterFunc func(ctx context.Context, c cid.Cid) (blocks.Block, error)

// Get calls f.
func (f GetterFunc) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) { return f(ctx, c) }

// ServerConfig configures a Server.
type ServerConfig struct {
	// Blocks answers requests; required.
	Blocks Getter
	// Wrap, when set, wraps the stream handler (mesh/auth's
	// Authenticator.Wrap, so that only members are served).
	Wrap func(network.StreamHandler) network.StreamHandler
	// MaxBatch is the most CIDs accepted per request; MaxBatch when zero.
	MaxBatch int
	// PerPeerRequests bounds requests in flight per peer; further ones
	// are answered busy. Default 16.
	PerPeerRequests int
	// MaxBytesInFlight bounds block bytes read and not yet written, over
	// all peers. Default 64 MiB; at least MaxBlockSize.
	MaxBytesInFlight int64
	// RequestTimeout bounds reading a request. Default 10 s.
	RequestTimeout time.Duration
	// WriteTimeout bounds writing one block, so a peer that stops reading
	// releases its share of the limits. Default 30 s.
	WriteTimeout time.Duration
	// Pending, when set, is asked about a block the node does not hold
	// that a peer requested with its place in a dataset (root and leaf
	// index): it returns a channel that is closed when the node's own
	// fetch of that block ends (it landed, or the fetch gave up), or nil
	// when the node is not fetching it as the owner of its piece. The
	// server then waits, sending keepalives, instead of answering
	// DONT_HAVE, so that peers queue their wants at a piece's owner.
	// Pending must not start a fetch on the peer's behalf.
	Pending func(root cid.Cid, leaf int64, c cid.Cid) <-chan struct{}
	// KeepAlive is how often a keepalive goes out while waiting for a
	// pending block; keep it well below clients' IdleTimeout. Default 1 s.
	KeepAlive time.Duration
	// MaxWait bounds one wait for a pending block. Default 10 min.
	MaxWait time.Duration
	Logger  *slog.Logger
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.MaxBatch == 0 {
		c.MaxBatch = MaxBatch
	}
	if c.PerPeerRequests == 0 {
		c.PerPeerRequests = 16
	}
	if c.MaxBytesInFlight == 0 {
		c.MaxBytesInFlight = 64 << 20
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = 10 * time.Second
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.KeepAlive == 0 {
		c.KeepAlive = time.Second
	}
	if c.MaxWait == 0 {
		c.MaxWait = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field (after defaults).
func (c ServerConfig) Validate() error {
	switch {
	case c.Blocks == nil:
		return errors.New("exchange server: Blocks is required")
	case c.MaxBatch < 1 || c.MaxBatch > MaxBatch:
		return fmt.Errorf("exchange server: MaxBatch %d, want 1..%d", c.MaxBatch, MaxBatch)
	case c.PerPeerRequests < 1:
		return fmt.Errorf("exchange server: PerPeerRequests %d, want >= 1", c.PerPeerRequests)
	case c.MaxBytesInFlight < MaxBlockSize:
		return fmt.Errorf("exchange server: MaxBytesInFlight %d, want >= %d", c.MaxBytesInFlight, MaxBlockSize)
	case c.RequestTimeout < 0 || c.WriteTimeout < 0 || c.KeepAlive < 0 || c.MaxWait < 0:
		return errors.New("exchange server: negative timeout")
	}
	return nil
}

// Server answers /meshcache/blocks/1 from a Getter.
type Server struct {
	h     host.Host
	cfg   ServerConfig
	log   *slog.Logger
	bytes *semaphore.Weighted
	stats *counters

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	wg      sync.WaitGroup
	perPeer map[peer.ID]int
}

// NewServer registers the protocol on h. Close unregisters it and waits for
// requests being served.
func NewServer(h host.Host, cfg ServerConfig) (*Server, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{
		h:       h,
		cfg:     cfg,
		log:     cfg.Logger.With("component", "exchange-server"),
		bytes:   semaphore.NewWeighted(cfg.MaxBytesInFlight),
		stats:   newCounters(),
		perPeer: map[peer.ID]int{},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	var handler network.StreamHandler = s.handle
	if cfg.Wrap != nil {
		handler = cfg.Wrap(handler)
	}
	h.SetStreamHandler(ProtocolID, handler)
	return s, nil
}

// Close stops serving: new streams are reset, running ones are cut short
// (their contexts end) and waited for.
func (s *Server) Close() error {
	s.h.RemoveStreamHandler(ProtocolID)
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// Stats returns counters per peer served.
func (s *Server) Stats() map[peer.ID]PeerStats { return s.stats.snapshot() }

// enter admits a request from p: false with busy=false when the server is
// closed, busy=true when p has too many in flight.
func (s *Server) enter(p peer.ID) (ok, busy bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, false
	}
	if s.perPeer[p] >= s.cfg.PerPeerRequests {
		return false, true
	}
	s.perPeer[p]++
	s.wg.Add(1)
	return true, false
}

// release frees p's request slot.
func (s *Server) release(p peer.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perPeer[p]--; s.perPeer[p] <= 0 {
		delete(s.perPeer, p)
	}
}

func (s *Server) handle(st network.Stream) {
	p := st.Conn().RemotePeer()
	pc := s.stats.of(p)
	ok, busy := s.enter(p)
	if !ok {
		if busy {
			pc.busy.Add(1)
			_ = st.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			_, _ = st.Write([]byte{statusBusy})
			_ = st.Close()
			return
		}
		_ = st.Reset()
		return
	}
	defer s.wg.Done()
	// Close must not wait for a peer that stopped reading.
	stop := context.AfterFunc(s.ctx, func() { _ = st.Reset() })
	err := s.serve(st, pc)
	stop()
	// The slot is freed before the stream ends: a client that has seen the
	// end of its batch may send the next one at once without being busy.
	s.release(p)
	if err != nil {
		pc.errors.Add(1)
		s.log.Debug("request failed", "peer", p, "err", err)
		_ = st.Reset()
		return
	}
	_ = st.Close()
}

// serve reads one request and answers every CID in order.
func (s *Server) serve(st network.Stream, pc *peerCounters) error {
	_ = st.SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout))
	req, err := readRequest(bufio.NewReaderSize(st, 512), s.cfg.MaxBatch)
	if err != nil {
		return fmt.Errorf("read request: %w", err)
	}
	w := bufio.NewWriterSize(st, 4096)
	for i, c := range req.cids {
		leaf := int64(-1)
		if req.leaves != nil {
			leaf = req.leaves[i]
		}
		if err := s.answer(st, w, req.root, leaf, c, pc); err != nil {
			return fmt.Errorf("answer %s: %w", c, err)
		}
	}
	_ = st.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
	return w.Flush()
}

// answer writes one CID's answer: the block if the node holds it, after a
// wait if the node is fetching it as its piece's owner, else DONT_HAVE.
func (s *Server) answer(st network.Stream, w *bufio.Writer, root cid.Cid, leaf int64, c cid.Cid, pc *peerCounters) error {
	err := s.send(st, w, c, pc)
	if format.IsNotFound(err) && root.Defined() && s.cfg.Pending != nil {
		if landed := s.cfg.Pending(root, leaf, c); landed != nil {
			pc.waits.Add(1)
			if err := s.await(st, w, landed); err != nil {
				return err
			}
			err = s.send(st, w, c, pc)
		}
	}
	var se streamError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se.err
	case !format.IsNotFound(err):
		s.log.Warn("cannot read block for a peer", "cid", c, "err", err)
	}
	pc.dontHave.Add(1)
	return w.WriteByte(statusDontHave)
}

// streamError is a failure to write to the peer, as opposed to one to read
// the block (which answers DONT_HAVE).
type streamError struct{ err error }

func (e streamError) Error() string { return e.err.Error() }

// send writes c to the peer if the node holds it. Its size is reserved
// against MaxBytesInFlight while it is read and written: the largest size
// before the read, so that many slow peers cannot make the server hold
// more than the limit in memory, then the block's own.
func (s *Server) send(st network.Stream, w *bufio.Writer, c cid.Cid, pc *peerCounters) error {
	if err := s.bytes.Acquire(s.ctx, MaxBlockSize); err != nil {
		return fmt.Errorf("wait for memory: %w", err)
	}
	held := int64(MaxBlockSize)
	defer func() { s.bytes.Release(held) }()
	write := func(data []byte) error {
		if len(data) > MaxBlockSize {
			return fmt.Errorf("block of %d bytes exceeds the protocol limit", len(data))
		}
		s.bytes.Release(held - int64(len(data)))
		held = int64(len(data))
		_ = st.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		var hdr [1 + 10]byte
		if _, err := w.Write(appendBlockHeader(hdr[:0], len(data))); err != nil {
			return streamError{err}
		}
		if _, err := w.Write(data); err != nil {
			return streamError{err}
		}
		// Send a block now rather than when the buffer fills: the next
		// read may be slow, and the peer is waiting for this one.
		// (DONT_HAVE answers, one byte each, wait for the next block or
		// the end.)
		if err := w.Flush(); err != nil {
			return streamError{err}
		}
		pc.bytesSent.Add(int64(len(data)))
		pc.blocksSent.Add(1)
		return nil
	}
	if v, ok := s.cfg.Blocks.(Viewer); ok {
		return v.View(s.ctx, c, write)
	}
	blk, err := s.cfg.Blocks.Get(s.ctx, c)
	if err != nil {
		return err
	}
	return write(blk.RawData())
}

// await waits for landed, sending a keepalive every KeepAlive so that the
// peer can tell a busy owner from a stalled one. It holds no memory
// reservation while it waits.
func (s *Server) await(st network.Stream, w *bufio.Writer, landed <-chan struct{}) error {
	tick := time.NewTicker(s.cfg.KeepAlive)
	defer tick.Stop()
	limit := time.NewTimer(s.cfg.MaxWait)
	defer limit.Stop()
	for {
		select {
		case <-landed:
			return nil
		case <-limit.C:
			return nil // answered from whatever the store holds by now
		case <-s.ctx.Done():
			return s.ctx.Err()
		case <-tick.C:
			_ = st.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
			if err := w.WriteByte(statusPending); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return fmt.Errorf("send keepalive: %w", err)
			}
		}
	}
}
