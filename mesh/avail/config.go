package avail

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Defaults for Config's zero fields.
const (
	DefaultMaxPeers         = 32
	DefaultFlushDelay       = 2 * time.Millisecond
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultWriteTimeout     = 30 * time.Second
	DefaultMaxPending       = 1 << 20
)

// Config configures a Service.
type Config struct {
	// MaxPeers bounds the sessions per dataset, inbound and outbound
	// together (tens, as BitTorrent does: enough holders to choose from,
	// few enough that every update fans out cheaply).
	MaxPeers int
	// FlushDelay is how long local updates gather before a batch is sent.
	FlushDelay time.Duration
	// HandshakeTimeout bounds HELLO and the bitmap transfer.
	HandshakeTimeout time.Duration
	// WriteTimeout bounds one frame write; a peer that stops reading is
	// dropped rather than buffering updates for ever.
	WriteTimeout time.Duration
	// MaxPending bounds the updates queued for one session; past it the
	// session is dropped (the peer reconnects and gets a fresh bitmap).
	MaxPending int
	// Wrap, when set, guards the inbound handler (mesh/auth's
	// Authenticator.Wrap), so unauthenticated peers are reset.
	Wrap func(network.StreamHandler) network.StreamHandler
	// Admit, when set, must approve a peer before Connect opens a stream
	// to it (mesh/auth's Authenticator.WaitAuthenticated).
	Admit func(ctx context.Context, p peer.ID) bool
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxPeers == 0 {
		c.MaxPeers = DefaultMaxPeers
	}
	if c.FlushDelay == 0 {
		c.FlushDelay = DefaultFlushDelay
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports the first invalid field (after defaults).
func (c Config) Validate() error {
	switch {
	case c.MaxPeers < 0:
		return fmt.Errorf("avail: MaxPeers %d is negative", c.MaxPeers)
	case c.FlushDelay < 0:
		return fmt.Errorf("avail: FlushDelay %v is negative", c.FlushDelay)
	case c.HandshakeTimeout < 0:
		return fmt.Errorf("avail: HandshakeTimeout %v is negative", c.HandshakeTimeout)
	case c.WriteTimeout < 0:
		return fmt.Errorf("avail: WriteTimeout %v is negative", c.WriteTimeout)
	case c.MaxPending < 0:
		return fmt.Errorf("avail: MaxPending %d is negative", c.MaxPending)
	}
	return nil
}
