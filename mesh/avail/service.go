package avail

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrNotAdmitted is a peer Config.Admit declined.
var ErrNotAdmitted = errors.New("avail: peer not admitted")

// Service runs the availability protocol for the datasets it tracks.
type Service struct {
	h   host.Host
	cfg Config
	log *slog.Logger

	wg sync.WaitGroup

	mu     sync.Mutex
	closed bool
	sets   map[cid.Cid]*dataset
}

// dataset is one tracked dataset: the local bitmap and the sessions with
// peers sharing it. All fields are guarded by Service.mu.
type dataset struct {
	root     cid.Cid
	n        int64
	local    *Bitmap
	sessions map[peer.ID]*session
}

// New registers the protocol handler on h; Close removes it.
func New(h host.Host, cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{h: h, cfg: cfg, log: cfg.Logger, sets: map[cid.Cid]*dataset{}}
	var handler network.StreamHandler = s.handle
	if cfg.Wrap != nil {
		handler = cfg.Wrap(handler)
	}
	h.SetStreamHandler(ProtocolID, handler)
	return s, nil
}

// Track starts advertising a dataset of numLeaves leaves; have (copied;
// nil for none) says which this node holds. Tracking a dataset twice is an
// error: Untrack first.
func (s *Service) Track(root cid.Cid, numLeaves int64, have *Bitmap) error {
	if numLeaves < 0 || numLeaves > MaxLeaves {
		return fmt.Errorf("avail: track %s: %d leaves (limit %d)", root, numLeaves, MaxLeaves)
	}
	local := NewBitmap(numLeaves)
	if have != nil {
		if have.Len() != numLeaves {
			return fmt.Errorf("avail: track %s: bitmap of %d leaves, dataset has %d", root, have.Len(), numLeaves)
		}
		local = have.Clone()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, ok := s.sets[root]; ok {
		return fmt.Errorf("avail: track %s: already tracked", root)
	}
	s.sets[root] = &dataset{root: root, n: numLeaves, local: local, sessions: map[peer.ID]*session{}}
	return nil
}

// Untrack stops advertising a dataset and ends its sessions; peers drop
// this node as a holder of all its leaves (an unpin).
func (s *Service) Untrack(root cid.Cid) {
	s.mu.Lock()
	ds := s.sets[root]
	delete(s.sets, root)
	var ended []*session
	if ds != nil {
		for _, ss := range ds.sessions {
			ended = append(ended, ss)
		}
	}
	s.mu.Unlock()
	for _, ss := range ended {
		ss.end(errUntracked)
	}
}

var errUntracked = errors.New("dataset untracked")

// Have records that this node now holds leaf and tells the dataset's peers
// (batched, within FlushDelay).
func (s *Service) Have(root cid.Cid, leaf int64) error { return s.update(root, leaf, true) }

// DontHave records that this node no longer holds leaf (evicted or
// unpinned) and tells the dataset's peers.
func (s *Service) DontHave(root cid.Cid, leaf int64) error { return s.update(root, leaf, false) }

func (s *Service) update(root cid.Cid, leaf int64, have bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := s.sets[root]
	if ds == nil {
		return fmt.Errorf("update leaf %d of %s: %w", leaf, root, ErrNotTracked)
	}
	if leaf < 0 || leaf >= ds.n {
		return fmt.Errorf("avail: update leaf %d of %s: out of range [0, %d)", leaf, root, ds.n)
	}
	changed := ds.local.Set(leaf)
	if !have {
		changed = ds.local.Clear(leaf)
	}
	if changed {
		for _, ss := range ds.sessions {
			ss.queueLocked(leaf)
		}
	}
	return nil
}

// Holders returns the connected peers that hold leaf of root (nil when
// the dataset is not tracked or nobody does), for nearest-holder ranking.
func (s *Service) Holders(root cid.Cid, leaf int64) []peer.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := s.sets[root]
	if ds == nil {
		return nil
	}
	var out []peer.ID
	for p, ss := range ds.sessions {
		if ss.remote.Has(leaf) {
			out = append(out, p)
		}
	}
	return out
}

// Peers returns the peers with a session for root.
func (s *Service) Peers(root cid.Cid) []peer.ID {
	s.mu.Lock()
	defer s.mu.Unlock()
	ds := s.sets[root]
	if ds == nil {
		return nil
	}
	out := make([]peer.ID, 0, len(ds.sessions))
	for p := range ds.sessions {
		out = append(out, p)
	}
	return out
}

// Close ends every session, removes the handler and waits for the
// session goroutines.
func (s *Service) Close() error {
	s.h.RemoveStreamHandler(ProtocolID)
	s.mu.Lock()
	s.closed = true
	var ended []*session
	for _, ds := range s.sets {
		for _, ss := range ds.sessions {
			ended = append(ended, ss)
		}
	}
	s.sets = map[cid.Cid]*dataset{}
	s.mu.Unlock()
	for _, ss := range ended {
		ss.end(ErrClosed)
	}
	s.wg.Wait()
	return nil
}
