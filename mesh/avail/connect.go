package avail

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	mh "github.com/multiformats/go-multihash"
)

// errSuperseded ends an outbound session that lost a simultaneous open:
// the peer's stream to us carries the session instead.
var errSuperseded = errors.New("superseded by the peer's session")

// errDuplicate is the refusal that tells the peer to use the session we
// keep instead (its text is the wire reason).
var errDuplicate = errors.New("duplicate session")

// Connect starts a session with p for root: both sides send their bitmap
// and then their updates. It returns once p's bitmap has arrived, at once
// when a session exists, and ErrPeerLimit when root has MaxPeers sessions.
func (s *Service) Connect(ctx context.Context, root cid.Cid, p peer.ID) error {
	if p == s.h.ID() {
		return fmt.Errorf("avail: connect %s: self", root)
	}
	if done, err := s.precheck(root, p); done || err != nil {
		return err
	}
	if s.cfg.Admit != nil && !s.cfg.Admit(ctx, p) {
		return fmt.Errorf("connect %s for %s: %w", p, root, ErrNotAdmitted)
	}
	st, err := s.h.NewStream(ctx, p, ProtocolID)
	if err != nil {
		return fmt.Errorf("avail: open stream to %s for %s: %w", p, root, err)
	}
	ss, err := s.register(root, p, st, true)
	if ss == nil {
		st.Reset()
		if err == nil {
			return s.awaitSession(ctx, root, p)
		}
		return err
	}
	select {
	case <-ss.ready:
		return nil
	case <-ss.done:
		if errors.Is(ss.err, errSuperseded) {
			return s.awaitSession(ctx, root, p)
		}
		return fmt.Errorf("avail: connect %s for %s: %w", p, root, ss.err)
	case <-ctx.Done():
		ss.end(ctx.Err())
		return fmt.Errorf("avail: connect %s for %s: %w", p, root, ctx.Err())
	}
}

// awaitSession waits for the session the peer opened to us (after a
// simultaneous open) to carry its bitmap.
func (s *Service) awaitSession(ctx context.Context, root cid.Cid, p peer.ID) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.HandshakeTimeout)
	defer cancel()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		var ready chan struct{}
		if ds := s.sets[root]; ds != nil && ds.sessions[p] != nil {
			ready = ds.sessions[p].ready
		}
		s.mu.Unlock()
		if ready != nil {
			select {
			case <-ready:
				return nil
			default:
			}
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("avail: connect %s for %s: waiting for the peer's session: %w", p, root, ctx.Err())
		}
	}
}

// precheck answers Connect without a stream where it can: done when a
// session exists.
func (s *Service) precheck(root cid.Cid, p peer.ID) (done bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, ErrClosed
	}
	ds := s.sets[root]
	if ds == nil {
		return false, fmt.Errorf("connect %s for %s: %w", p, root, ErrNotTracked)
	}
	if ds.sessions[p] != nil {
		return true, nil
	}
	if len(ds.sessions) >= s.cfg.MaxPeers {
		return false, fmt.Errorf("connect %s for %s: %w (%d)", p, root, ErrPeerLimit, s.cfg.MaxPeers)
	}
	return false, nil
}

// register adds a session for (root, p) on st and starts it. It returns
// nil and the reason when the session is not wanted: nil error when an
// equivalent session already exists.
func (s *Service) register(root cid.Cid, p peer.ID, st network.Stream, outbound bool) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	ds := s.sets[root]
	if ds == nil {
		return nil, fmt.Errorf("session with %s for %s: %w", p, root, ErrNotTracked)
	}
	if old := ds.sessions[p]; old != nil {
		if !s.replaces(old, outbound, p) {
			return nil, nil
		}
		delete(ds.sessions, p)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			old.refuseAndEnd(errDuplicate, errSuperseded)
		}()
	}
	if len(ds.sessions) >= s.cfg.MaxPeers {
		return nil, fmt.Errorf("session with %s for %s: %w (%d)", p, root, ErrPeerLimit, s.cfg.MaxPeers)
	}
	ss := newSession(s, ds, p, st, outbound)
	ds.sessions[p] = ss
	s.wg.Add(2)
	go ss.writeLoop()
	go ss.readLoop(!outbound)
	return ss, nil
}

// replaces decides a second session with p: after a simultaneous open
// both sides keep the stream opened by the lower peer ID, whatever order
// the streams arrived in; a new inbound stream replacing an older inbound
// one means the peer restarted or lost it.
func (s *Service) replaces(old *session, outbound bool, p peer.ID) bool {
	switch {
	case outbound && old.outbound:
		return false
	case outbound != old.outbound:
		newOpener, oldOpener := p, s.h.ID()
		if outbound {
			newOpener, oldOpener = s.h.ID(), p
		}
		return newOpener < oldOpener
	default:
		return true
	}
}

// handle accepts an inbound session: it reads the peer's HELLO, checks the
// dataset and the peer limit, and refuses with a reason otherwise.
func (s *Service) handle(st network.Stream) {
	p := st.Conn().RemotePeer()
	_ = st.SetReadDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	m, err := readMessage(st, nil)
	if err == nil && m.typ == msgRefuse {
		// The peer dropped a session it had just opened (a simultaneous
		// open it lost) before its HELLO went out.
		_ = st.Close()
		return
	}
	if err == nil && m.typ != msgHello {
		err = fmt.Errorf("%w: first frame is type %d, want HELLO", ErrMalformed, m.typ)
	}
	if err == nil {
		err = s.checkHello(m)
	}
	if err == nil {
		var ss *session
		ss, err = s.register(m.root, p, st, false)
		if ss != nil {
			return
		}
		if err == nil {
			err = errDuplicate
		}
	}
	s.log.Debug("avail: refused inbound session", "peer", p, "root", m.root, "err", err)
	refuse(st, m.root, err, s.cfg.WriteTimeout)
	_ = st.Close()
}

// checkHello holds a HELLO against the tracked dataset.
func (s *Service) checkHello(m message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := s.sets[m.root]
	if ds == nil {
		return fmt.Errorf("dataset %s: %w", m.root, ErrNotTracked)
	}
	if m.leaves != ds.n {
		return fmt.Errorf("%w: dataset %s has %d leaves, peer says %d", ErrMalformed, m.root, ds.n, m.leaves)
	}
	return nil
}

// readMessage reads and decodes one frame.
func readMessage(st network.Stream, buf []byte) (message, error) {
	b, err := readFrame(st, buf)
	if err != nil {
		return message{}, err
	}
	return decodeMessage(b)
}

// refuse tells the peer why, best effort.
func refuse(st network.Stream, root cid.Cid, why error, timeout time.Duration) {
	if !root.Defined() {
		// The first frame did not name a dataset; any valid CID will do.
		h, _ := mh.Sum(nil, mh.IDENTITY, -1)
		root = cid.NewCidV1(cid.Raw, h)
	}
	_ = st.SetWriteDeadline(time.Now().Add(timeout))
	_ = writeFrame(st, encodeMessage(message{typ: msgRefuse, root: root, reason: why.Error()}))
}
