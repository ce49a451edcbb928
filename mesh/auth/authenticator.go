package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// DefaultTimeout bounds one handshake, and how long an accepted connection
// may stay without one.
const DefaultTimeout = 10 * time.Second

// Config configures an Authenticator.
type Config struct {
	Keys Keys
	// Verdicts, usually the same value given to the host as its gater; a
	// fresh cache when nil.
	Verdicts *Verdicts
	// Timeout per handshake; DefaultTimeout when zero.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Authenticator admits peers that prove a cluster key and nobody else.
type Authenticator struct {
	h        host.Host
	keys     Keys
	verdicts *Verdicts
	timeout  time.Duration
	log      *slog.Logger
	notifiee *network.NotifyBundle

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New registers the authentication protocol on h and authenticates every
// connection from now on. Start it before h connects to anyone; Close
// stops it.
func New(h host.Host, cfg Config) (*Authenticator, error) {
	if len(cfg.Keys) == 0 || len(cfg.Keys) > maxKeys {
		return nil, fmt.Errorf("auth: %d cluster keys, want 1..%d", len(cfg.Keys), maxKeys)
	}
	a := &Authenticator{
		h:        h,
		keys:     cfg.Keys,
		verdicts: cfg.Verdicts,
		timeout:  cfg.Timeout,
		log:      cfg.Logger,
	}
	if a.verdicts == nil {
		a.verdicts = NewVerdicts(0)
	}
	if a.timeout <= 0 {
		a.timeout = DefaultTimeout
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.notifiee = &network.NotifyBundle{ConnectedF: a.connected, DisconnectedF: a.disconnected}
	h.SetStreamHandler(ProtocolID, a.handle)
	h.Network().Notify(a.notifiee)
	// Connections made before New would otherwise never be checked.
	for _, c := range h.Network().Conns() {
		a.connected(h.Network(), c)
	}
	return a, nil
}

// Close stops authenticating and waits for running handshakes.
func (a *Authenticator) Close() error {
	a.h.Network().StopNotify(a.notifiee)
	a.h.RemoveStreamHandler(ProtocolID)
	a.cancel()
	a.wg.Wait()
	return nil
}

// Verdicts returns the verdict cache (the connection gater).
func (a *Authenticator) Verdicts() *Verdicts { return a.verdicts }

// IsAuthenticated reports whether p has proven a cluster key on its
// current connections.
func (a *Authenticator) IsAuthenticated(p peer.ID) bool { return a.verdicts.Authenticated(p) }

// WaitAuthenticated waits for a handshake with p in progress and reports
// whether p is authenticated. Callers that open streams right after
// connecting use it first.
func (a *Authenticator) WaitAuthenticated(ctx context.Context, p peer.ID) bool {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	return a.verdicts.await(ctx, p)
}

// Wrap admits streams only from authenticated peers; streams from a peer
// whose handshake is still running wait for it, others are reset.
func (a *Authenticator) Wrap(handler network.StreamHandler) network.StreamHandler {
	return func(s network.Stream) {
		if !a.WaitAuthenticated(a.ctx, s.Conn().RemotePeer()) {
			s.Reset()
			return
		}
		handler(s)
	}
}

// connected runs on the swarm's notification path, before the connection
// accepts streams, so it only records the pending handshake and hands the
// work to a goroutine.
func (a *Authenticator) connected(_ network.Network, c network.Conn) {
	p := c.RemotePeer()
	if a.verdicts.Authenticated(p) {
		return
	}
	e, fresh := a.verdicts.begin(p)
	if !fresh {
		return
	}
	a.wg.Add(1)
	if c.Stat().Direction == network.DirOutbound {
		go a.initiate(c, e)
	} else {
		go a.expect(p, e)
	}
}

func (a *Authenticator) disconnected(n network.Network, c network.Conn) {
	if n.Connectedness(c.RemotePeer()) != network.Connected {
		a.verdicts.forget(c.RemotePeer())
	}
}

// initiate runs the handshake on a connection this node dialed.
func (a *Authenticator) initiate(c network.Conn, e *entry) {
	defer a.wg.Done()
	p := c.RemotePeer()
	ctx, cancel := context.WithTimeout(a.ctx, a.timeout)
	defer cancel()
	s, err := a.h.NewStream(network.WithNoDial(ctx, "authenticate"), p, ProtocolID)
	if err != nil {
		a.conclude(p, e, fmt.Errorf("open auth stream: %w", err))
		return
	}
	_ = s.SetDeadline(time.Now().Add(a.timeout))
	_, err = Initiate(s, a.h.ID(), p, a.keys)
	if err != nil {
		s.Reset()
	} else {
		s.Close()
	}
	a.conclude(p, e, err)
}

// expect gives a peer that dialed us the timeout to authenticate.
func (a *Authenticator) expect(p peer.ID, e *entry) {
	defer a.wg.Done()
	t := time.NewTimer(a.timeout)
	defer t.Stop()
	select {
	case <-e.done:
	case <-t.C:
		a.conclude(p, e, errors.New("no authentication within the timeout"))
	case <-a.ctx.Done():
	}
}

// handle is the responder's side.
func (a *Authenticator) handle(s network.Stream) {
	p := s.Conn().RemotePeer()
	e, _ := a.verdicts.begin(p)
	_ = s.SetDeadline(time.Now().Add(a.timeout))
	_, err := Respond(s, a.h.ID(), p, a.keys)
	if err != nil {
		s.Reset()
	} else {
		s.Close()
	}
	a.conclude(p, e, err)
}

// conclude settles a handshake: members are admitted, definitive failures
// remembered for the gater, and any failure disconnects the peer.
func (a *Authenticator) conclude(p peer.ID, e *entry, err error) {
	switch {
	case err == nil:
		a.verdicts.settle(p, e, statusAuthenticated)
		a.log.Debug("peer authenticated", "peer", p)
		return
	case errors.Is(err, ErrRefused):
		a.verdicts.settle(p, e, statusRefused)
		a.log.Warn("peer refused", "peer", p, "err", err)
	default:
		a.verdicts.settle(p, e, statusUnknown)
		a.log.Info("peer not authenticated", "peer", p, "err", err)
	}
	if err := a.h.Network().ClosePeer(p); err != nil {
		a.log.Debug("disconnect", "peer", p, "err", err)
	}
}
