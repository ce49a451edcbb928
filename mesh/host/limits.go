package host

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
)

// ResourceLimits caps what peers may hold on this node. Zero fields take
// the defaults from DefaultResourceLimits.
type ResourceLimits struct {
	SystemConns   int
	SystemStreams int
	SystemMemory  int64

	PeerConns   int
	PeerStreams int
	PeerMemory  int64

	// ConnMemory bounds one connection. QUIC reserves its flow-control
	// window growth here at medium priority (allowed up to ~60% of the
	// limit), so it must exceed ConnectionWindow/0.6 or the windows never
	// reach their maximum.
	ConnMemory int64
}

// DefaultResourceLimits suits a cluster of tens to hundreds of nodes, each
// peer holding a few connections with full QUIC windows.
func DefaultResourceLimits() ResourceLimits {
	return ResourceLimits{
		SystemConns:   1024,
		SystemStreams: 8192,
		SystemMemory:  2 << 30,
		PeerConns:     8,
		PeerStreams:   512,
		PeerMemory:    256 << 20,
		ConnMemory:    128 << 20,
	}
}

func (l ResourceLimits) withDefaults() ResourceLimits {
	d := DefaultResourceLimits()
	setInt(&l.SystemConns, d.SystemConns)
	setInt(&l.SystemStreams, d.SystemStreams)
	setInt64(&l.SystemMemory, d.SystemMemory)
	setInt(&l.PeerConns, d.PeerConns)
	setInt(&l.PeerStreams, d.PeerStreams)
	setInt64(&l.PeerMemory, d.PeerMemory)
	setInt64(&l.ConnMemory, d.ConnMemory)
	return l
}

func setInt(v *int, d int) {
	if *v <= 0 {
		*v = d
	}
}

func setInt64(v *int64, d int64) {
	if *v <= 0 {
		*v = d
	}
}

// resourceManager builds libp2p's resource manager with explicit system,
// per-peer and per-connection limits over libp2p's scaled defaults (which
// still govern protocol and service scopes).
func resourceManager(l ResourceLimits) (network.ResourceManager, error) {
	l = l.withDefaults()
	partial := rcmgr.PartialLimitConfig{
		System: rcmgr.ResourceLimits{
			Conns:   rcmgr.LimitVal(l.SystemConns),
			Streams: rcmgr.LimitVal(l.SystemStreams),
			Memory:  rcmgr.LimitVal64(l.SystemMemory),
		},
		// Transient scopes hold streams and connections before they are
		// attributed; libp2p's default is small, keep it proportional.
		Transient: rcmgr.ResourceLimits{
			Conns:   rcmgr.LimitVal(l.SystemConns / 4),
			Streams: rcmgr.LimitVal(l.SystemStreams / 4),
			Memory:  rcmgr.LimitVal64(l.SystemMemory / 4),
		},
		PeerDefault: rcmgr.ResourceLimits{
			Conns:           rcmgr.LimitVal(l.PeerConns),
			ConnsInbound:    rcmgr.LimitVal(l.PeerConns),
			ConnsOutbound:   rcmgr.LimitVal(l.PeerConns),
			Streams:         rcmgr.LimitVal(l.PeerStreams),
			StreamsInbound:  rcmgr.LimitVal(l.PeerStreams),
			StreamsOutbound: rcmgr.LimitVal(l.PeerStreams),
			Memory:          rcmgr.LimitVal64(l.PeerMemory),
		},
		Conn: rcmgr.ResourceLimits{Memory: rcmgr.LimitVal64(l.ConnMemory)},
	}
	limiter := rcmgr.NewFixedLimiter(partial.Build(rcmgr.DefaultLimits.AutoScale()))
	rm, err := rcmgr.NewResourceManager(limiter)
	if err != nil {
		return nil, fmt.Errorf("resource manager: %w", err)
	}
	return rm, nil
}
