// Package labels lets cluster members learn each other's topology labels
// (region, zone, rack) over /meshcache/labels/1, so that holders can be
// ranked by nearness (mesh/policy.RankHolders), `meshcache peers` can say
// where each peer sits, and a node can look for holders in other regions.
//
// The protocol is one request per stream: the asker opens it and closes
// its side; the answerer writes its labels as one JSON object of at most
// MaxSize bytes and closes. Labels are claims, not proofs: only members
// (mesh/auth) are answered or believed, and a member could lie about its
// region only to be asked for blocks it then must hold.
package labels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"

	"github.com/meshcache/meshcache/mesh/policy"
)

// ProtocolID is the labels protocol.
const ProtocolID protocol.ID = "/meshcache/labels/1"

// MaxSize bounds an answer; MaxLabelLen bounds each label.
const (
	MaxSize     = 1024
	MaxLabelLen = 128
)

// ErrBadLabels: a peer's answer is not valid labels.
var ErrBadLabels = errors.New("bad labels")

// Config configures a Book.
type Config struct {
	// Local is this node's labels, told to whoever asks.
	Local policy.Labels
	// Wrap guards the handler (mesh/auth's Authenticator.Wrap).
	Wrap func(network.StreamHandler) network.StreamHandler
	// Timeout bounds one exchange. Default 10 s.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Book answers for this node and remembers the labels of peers.
type Book struct {
	h   host.Host
	cfg Config
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	known  map[peer.ID]policy.Labels
	asking map[peer.ID]bool
	// failed keeps peers that did not answer from being asked again by
	// every Get until retryAfter has passed.
	failed map[peer.ID]time.Time
}

// retryAfter is how long Get waits before asking again a peer that did
// not answer (a stopped member is still listed by the DHT for a while).
const retryAfter = 30 * time.Second

// New registers the protocol on h. Close unregisters it.
func New(h host.Host, cfg Config) (*Book, error) {
	if err := Validate(cfg.Local); err != nil {
		return nil, fmt.Errorf("labels: local %w", err)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	b := &Book{h: h, cfg: cfg, log: cfg.Logger.With("component", "labels"), known: map[peer.ID]policy.Labels{}, asking: map[peer.ID]bool{}, failed: map[peer.ID]time.Time{}}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	var handler network.StreamHandler = b.answer
	if cfg.Wrap != nil {
		handler = cfg.Wrap(handler)
	}
	h.SetStreamHandler(ProtocolID, handler)
	return b, nil
}

// Validate checks labels: valid UTF-8 of at most MaxLabelLen bytes each.
func Validate(l policy.Labels) error {
	for _, f := range []struct{ name, v string }{{"region", l.Region}, {"zone", l.Zone}, {"rack", l.Rack}} {
		if len(f.v) > MaxLabelLen || !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s %q: want valid UTF-8 of at most %d bytes", ErrBadLabels, f.name, f.v, MaxLabelLen)
		}
	}
	return nil
}

type wire struct {
	Region string `json:"region"`
	Zone   string `json:"zone,omitempty"`
	Rack   string `json:"rack,omitempty"`
}

func (b *Book) answer(st network.Stream) {
	defer st.Close()
	_ = st.SetDeadline(time.Now().Add(b.cfg.Timeout))
	l := b.cfg.Local
	data, _ := json.Marshal(wire{Region: l.Region, Zone: l.Zone, Rack: l.Rack})
	if _, err := st.Write(data); err != nil {
		_ = st.Reset()
	}
}

// Ask asks p for its labels and remembers them.
func (b *Book) Ask(ctx context.Context, p peer.ID) (policy.Labels, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.Timeout)
	defer cancel()
	st, err := b.h.NewStream(ctx, p, ProtocolID)
	if err != nil {
		return policy.Labels{}, fmt.Errorf("ask %s for labels: %w", p, err)
	}
	defer st.Close()
	stop := context.AfterFunc(ctx, func() { _ = st.Reset() })
	defer stop()
	_ = st.CloseWrite()
	data, err := io.ReadAll(io.LimitReader(st, MaxSize+1))
	if err != nil {
		return policy.Labels{}, fmt.Errorf("read labels of %s: %w", p, err)
	}
	if len(data) > MaxSize {
		return policy.Labels{}, fmt.Errorf("labels of %s: %w: over %d bytes", p, ErrBadLabels, MaxSize)
	}
	// encoding/json would quietly turn invalid UTF-8 into U+FFFD.
	if !utf8.Valid(data) {
		return policy.Labels{}, fmt.Errorf("labels of %s: %w: invalid UTF-8", p, ErrBadLabels)
	}
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		return policy.Labels{}, fmt.Errorf("labels of %s: %w: %w", p, ErrBadLabels, err)
	}
	l := policy.Labels{Region: w.Region, Zone: w.Zone, Rack: w.Rack}
	if err := Validate(l); err != nil {
		return policy.Labels{}, fmt.Errorf("labels of %s: %w", p, err)
	}
	b.mu.Lock()
	b.known[p] = l
	b.mu.Unlock()
	return l, nil
}

// Get returns p's labels if known. When they are not, it asks p in the
// background (once at a time), so a later call knows them.
func (b *Book) Get(p peer.ID) (policy.Labels, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if l, ok := b.known[p]; ok {
		return l, true
	}
	if t, ok := b.failed[p]; ok && time.Since(t) < retryAfter {
		return policy.Labels{}, false
	}
	if !b.asking[p] && b.ctx.Err() == nil {
		b.asking[p] = true
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			_, err := b.Ask(b.ctx, p)
			if err != nil {
				b.log.Debug("learn labels", "peer", p, "err", err)
			}
			b.mu.Lock()
			delete(b.asking, p)
			if err != nil {
				b.failed[p] = time.Now()
			} else {
				delete(b.failed, p)
			}
			b.mu.Unlock()
		}()
	}
	return policy.Labels{}, false
}

// Forget drops what is known of p (it disconnected; it may come back
// elsewhere).
func (b *Book) Forget(p peer.ID) {
	b.mu.Lock()
	delete(b.known, p)
	b.mu.Unlock()
}

// Close unregisters the protocol and waits for background questions.
func (b *Book) Close() error {
	b.h.RemoveStreamHandler(ProtocolID)
	b.cancel()
	b.wg.Wait()
	return nil
}
