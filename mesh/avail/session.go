package avail

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// session is one (peer, dataset) exchange on one stream. A writer
// goroutine sends HELLO, the local bitmap and then update batches; a
// reader goroutine receives the same from the peer.
type session struct {
	svc      *Service
	ds       *dataset
	peer     peer.ID
	st       network.Stream
	outbound bool

	// Guarded by svc.mu.
	remote   *Bitmap // the peer's leaves, filled in as its bitmap arrives
	sentUpTo int64   // local bitmap sent for leaves [0, sentUpTo)
	pending  []int64 // leaves changed since they were sent

	wmu   sync.Mutex    // one frame at a time on st
	wake  chan struct{} // pending is non-empty
	ready chan struct{} // the peer's whole bitmap has arrived
	done  chan struct{}
	once  sync.Once
	err   error // why the session ended; read after done
}

func newSession(s *Service, ds *dataset, p peer.ID, st network.Stream, outbound bool) *session {
	return &session{
		svc: s, ds: ds, peer: p, st: st, outbound: outbound,
		remote: NewBitmap(ds.n),
		wake:   make(chan struct{}, 1),
		ready:  make(chan struct{}),
		done:   make(chan struct{}),
	}
}

// queueLocked notes a local change of leaf; leaves not yet covered by a
// sent bitmap chunk travel with that chunk instead. Called with svc.mu.
func (ss *session) queueLocked(leaf int64) {
	if leaf >= ss.sentUpTo {
		return
	}
	ss.pending = append(ss.pending, leaf)
	if len(ss.pending) > ss.svc.cfg.MaxPending {
		ss.pending = compact(ss.pending)
		if len(ss.pending) > ss.svc.cfg.MaxPending {
			// The peer reads slower than leaves change; it gets a fresh
			// bitmap when it reconnects.
			ss.stop(fmt.Errorf("more than %d updates queued", ss.svc.cfg.MaxPending))
			return
		}
	}
	select {
	case ss.wake <- struct{}{}:
	default:
	}
}

func compact(v []int64) []int64 {
	slices.Sort(v)
	return slices.Compact(v)
}

// end removes the session from its dataset and stops it.
func (ss *session) end(err error) {
	ss.remove()
	ss.stop(err)
}

func (ss *session) remove() {
	ss.svc.mu.Lock()
	if ss.ds.sessions[ss.peer] == ss {
		delete(ss.ds.sessions, ss.peer)
	}
	ss.svc.mu.Unlock()
}

// stop records why the session ended and resets the stream, which ends
// both goroutines; it takes no lock.
func (ss *session) stop(err error) { ss.finish(err, nil) }

// finish settles the session's outcome once: the first caller's err is
// the one Connect reports, whatever the stream operations below make the
// goroutines see. With a reason it sends REFUSE and closes the stream.
func (ss *session) finish(err, reason error) {
	first := false
	ss.once.Do(func() { ss.err, first = err, true })
	if !first {
		return
	}
	if reason != nil {
		// A writer blocked on a peer that stopped reading holds wmu; the
		// short deadline frees it.
		_ = ss.st.SetWriteDeadline(time.Now().Add(time.Second))
		ss.wmu.Lock()
		refuse(ss.st, ss.ds.root, reason, time.Second)
		_ = ss.st.Close()
		ss.wmu.Unlock()
	} else {
		_ = ss.st.Reset()
	}
	close(ss.done)
}

func (ss *session) send(m message) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	_ = ss.st.SetWriteDeadline(time.Now().Add(ss.svc.cfg.WriteTimeout))
	return writeFrame(ss.st, encodeMessage(m))
}

func (ss *session) writeLoop() {
	defer ss.svc.wg.Done()
	if err := ss.write(); err != nil {
		// A write fails when the peer ends the session; its reason (a
		// REFUSE) reaches the reader, which ends the session with it.
		// Only a peer that stops reading and stays silent meets the timer.
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-ss.done:
		case <-t.C:
		}
		ss.end(fmt.Errorf("send to %s: %w", ss.peer, err))
	}
}

func (ss *session) write() error {
	root, n := ss.ds.root, ss.ds.n
	if err := ss.send(message{typ: msgHello, root: root, leaves: n}); err != nil {
		return err
	}
	for off := int64(0); off < n; off += chunkLeaves {
		to := min(off+chunkLeaves, n)
		ss.svc.mu.Lock()
		body := appendRange(nil, ss.ds.local, off, to)
		ss.sentUpTo = to
		ss.svc.mu.Unlock()
		if err := ss.send(message{typ: msgBitmap, root: root, offset: off, count: to - off, body: body}); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ss.done:
			return nil
		case <-ss.wake:
		}
		// Let a burst of changes gather into one batch.
		select {
		case <-ss.done:
			return nil
		case <-time.After(ss.svc.cfg.FlushDelay):
		}
		if err := ss.flush(); err != nil {
			return err
		}
	}
}

// flush sends the pending leaves as the local bitmap has them now, so a
// HAVE followed by a DONT_HAVE of the same leaf sends only the latter.
func (ss *session) flush() error {
	ss.svc.mu.Lock()
	leaves := compact(ss.pending)
	ss.pending = nil
	var have, dont []int64
	for _, l := range leaves {
		if ss.ds.local.Has(l) {
			have = append(have, l)
		} else {
			dont = append(dont, l)
		}
	}
	ss.svc.mu.Unlock()
	for _, b := range []struct {
		typ byte
		idx []int64
	}{{msgHave, have}, {msgDontHave, dont}} {
		for len(b.idx) > 0 {
			k := min(len(b.idx), maxBatch)
			if err := ss.send(message{typ: b.typ, root: ss.ds.root, idx: b.idx[:k]}); err != nil {
				return err
			}
			b.idx = b.idx[k:]
		}
	}
	return nil
}

func (ss *session) readLoop(helloRead bool) {
	defer ss.svc.wg.Done()
	err := ss.read(helloRead)
	if errors.Is(err, ErrMalformed) {
		ss.svc.log.Warn("avail: refusing peer", "peer", ss.peer, "root", ss.ds.root, "err", err)
		ss.refuseAndEnd(err, err)
		return
	}
	ss.end(err)
}

// refuseAndEnd ends the session with result and tells the peer why
// (reason), closing rather than resetting the stream so the reason
// arrives.
func (ss *session) refuseAndEnd(reason, result error) {
	ss.remove()
	ss.finish(result, reason)
}

func (ss *session) read(helloRead bool) error {
	_ = ss.st.SetReadDeadline(time.Now().Add(ss.svc.cfg.HandshakeTimeout))
	var buf []byte
	if !helloRead {
		m, err := ss.next(&buf)
		if err != nil {
			return err
		}
		if m.typ != msgHello {
			return fmt.Errorf("%w: %s sent type %d before HELLO", ErrMalformed, ss.peer, m.typ)
		}
		if m.leaves != ss.ds.n {
			return fmt.Errorf("%w: %s says %s has %d leaves, not %d", ErrMalformed, ss.peer, ss.ds.root, m.leaves, ss.ds.n)
		}
	}
	if err := ss.readBitmap(&buf); err != nil {
		return err
	}
	close(ss.ready)
	_ = ss.st.SetReadDeadline(time.Time{})
	for {
		m, err := ss.next(&buf)
		if err != nil {
			return err
		}
		if m.typ != msgHave && m.typ != msgDontHave {
			return fmt.Errorf("%w: %s sent type %d, want HAVE or DONT_HAVE", ErrMalformed, ss.peer, m.typ)
		}
		if err := ss.apply(m); err != nil {
			return err
		}
	}
}

// readBitmap receives the peer's bitmap chunks, in order, until they cover
// every leaf.
func (ss *session) readBitmap(buf *[]byte) error {
	n := ss.ds.n
	for off := int64(0); off < n; {
		m, err := ss.next(buf)
		if err != nil {
			return err
		}
		if m.typ != msgBitmap {
			return fmt.Errorf("%w: %s sent type %d inside its bitmap", ErrMalformed, ss.peer, m.typ)
		}
		end := m.offset + m.count
		if m.offset != off || m.count <= 0 || end > n || (end != n && m.count%8 != 0) {
			return fmt.Errorf("%w: bitmap range [%d, %d) from %s, want from %d of %d leaves", ErrMalformed, m.offset, end, ss.peer, off, n)
		}
		ss.svc.mu.Lock()
		err = decodeRange(m.body, ss.remote, off, end)
		ss.svc.mu.Unlock()
		if err != nil {
			return fmt.Errorf("bitmap from %s: %w", ss.peer, err)
		}
		off = end
	}
	return nil
}

// apply records a HAVE or DONT_HAVE batch, refusing it whole when any
// leaf is out of range.
func (ss *session) apply(m message) error {
	if last := m.idx[len(m.idx)-1]; last >= ss.ds.n {
		return fmt.Errorf("%w: leaf %d from %s, dataset has %d", ErrMalformed, last, ss.peer, ss.ds.n)
	}
	ss.svc.mu.Lock()
	defer ss.svc.mu.Unlock()
	for _, l := range m.idx {
		if m.typ == msgHave {
			ss.remote.Set(l)
		} else {
			ss.remote.Clear(l)
		}
	}
	return nil
}

// next reads one frame of this session's dataset; a REFUSE ends the
// session with the peer's reason.
func (ss *session) next(buf *[]byte) (message, error) {
	b, err := readFrame(ss.st, *buf)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return message{}, fmt.Errorf("%s closed the session: %w", ss.peer, err)
		}
		return message{}, err
	}
	*buf = b
	m, err := decodeMessage(b)
	if err != nil {
		return m, fmt.Errorf("frame from %s: %w", ss.peer, err)
	}
	if !m.root.Equals(ss.ds.root) {
		return m, fmt.Errorf("%w: frame for %s on the session for %s", ErrMalformed, m.root, ss.ds.root)
	}
	if m.typ == msgRefuse {
		if m.reason == errDuplicate.Error() {
			return m, errSuperseded
		}
		return m, fmt.Errorf("%w: %s", ErrRefused, m.reason)
	}
	return m, nil
}
