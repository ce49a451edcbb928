package wan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Site is a set of addresses the router treats as one place (a region, or
// the origin server).
type Site struct {
	Name     string
	Prefixes []netip.Prefix
}

// Link is one direction between two sites.
type Link struct {
	// Delay is added to every packet (one-way latency).
	Delay time.Duration
	// Rate is the link's bandwidth in bytes per second; 0 is unlimited.
	Rate float64
}

// Pair names a directed link by site indexes.
type Pair struct{ Src, Dst int }

// Config configures a Router.
type Config struct {
	// Device carries one IPv4 packet per Read and Write (a TUN file). Run
	// closes it when it returns.
	Device io.ReadWriteCloser
	// VNetHdr says every packet on Device starts with a virtio_net_hdr
	// (OpenOffloadTUN): it may be a GSO super-packet. The router passes
	// header and packet through untouched, and paces and counts the
	// packet as the segments the kernel will cut it into.
	VNetHdr bool
	// Sites classify addresses; the first site with a matching prefix wins,
	// so a host address can be carved out of a region's subnet.
	Sites []Site
	// Links are the directed links; a pair missing here uses Default.
	Links   map[Pair]Link
	Default Link
	// MaxBacklog bounds how long a packet may wait for its link's rate
	// before it is dropped (default 250ms): a bounded router queue.
	MaxBacklog time.Duration
	// QueuePackets bounds the packets in flight on one link (default 65536).
	QueuePackets int
	Logger       *slog.Logger
}

// LinkStats are one directed link's counters. A GSO super-packet counts
// as the segments the kernel cuts it into: Bytes are their IP bytes (each
// with its own IP and TCP/UDP header), Packets their number; Frames counts
// what the router read and wrote (super-packets and plain packets alike).
type LinkStats struct {
	Src, Dst string
	Bytes    int64 // IP bytes forwarded, as on the wire
	Packets  int64 // IP packets forwarded, as on the wire
	Frames   int64 // device writes
	Dropped  int64 // frames dropped
}

// Stats are the router's counters.
type Stats struct {
	Links []LinkStats // every directed link that carried or dropped a packet
	// Unrouted counts packets whose source or destination is in no site.
	Unrouted int64
}

// Router forwards packets between sites with per-link delay and rate.
type Router struct {
	cfg      Config
	links    [][]*linkQueue // [src][dst]
	unrouted atomic.Int64
	log      *slog.Logger
}

// ErrConfig is returned for an unusable Config.
var ErrConfig = errors.New("wan: bad config")

// New checks cfg and returns a router; it does nothing until Run.
func New(cfg Config) (*Router, error) {
	if cfg.Device == nil {
		return nil, fmt.Errorf("%w: no device", ErrConfig)
	}
	if len(cfg.Sites) == 0 {
		return nil, fmt.Errorf("%w: no sites", ErrConfig)
	}
	if cfg.MaxBacklog <= 0 {
		cfg.MaxBacklog = 250 * time.Millisecond
	}
	if cfg.QueuePackets <= 0 {
		cfg.QueuePackets = 65536
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{cfg: cfg, log: cfg.Logger}
	n := len(cfg.Sites)
	r.links = make([][]*linkQueue, n)
	for s := range n {
		r.links[s] = make([]*linkQueue, n)
		for d := range n {
			l, ok := cfg.Links[Pair{s, d}]
			if !ok {
				l = cfg.Default
			}
			if l.Rate < 0 || l.Delay < 0 {
				return nil, fmt.Errorf("%w: link %s→%s: negative rate or delay", ErrConfig, cfg.Sites[s].Name, cfg.Sites[d].Name)
			}
			r.links[s][d] = newLinkQueue(l, cfg.MaxBacklog, cfg.QueuePackets)
		}
	}
	return r, nil
}

// Run forwards packets until ctx ends or the device fails, then closes the
// device and returns (nil when ctx ended).
func (r *Router) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for _, row := range r.links {
		for _, q := range row {
			wg.Go(func() { q.send(ctx, r.cfg.Device, r.log) })
		}
	}
	// Close unblocks the reader when ctx ends.
	stop := context.AfterFunc(ctx, func() { r.cfg.Device.Close() })
	err := r.read(ctx)
	cancel()
	if stop() {
		r.cfg.Device.Close()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// read classifies and enqueues packets; it is the only writer of the
// queues' rate state, so that state needs no lock.
func (r *Router) read(ctx context.Context) error {
	// A GSO super-packet's IP length is at most 64 KiB; the vnet header
	// comes on top.
	buf := make([]byte, 65536+VNetHdrLen)
	for {
		n, err := r.cfg.Device.Read(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("wan: read device: %w", err)
		}
		ip := buf[:n]
		if r.cfg.VNetHdr {
			if n < VNetHdrLen {
				r.unrouted.Add(1)
				continue
			}
			ip = buf[VNetHdrLen:n]
		}
		src, dst, ok := r.classify(ip)
		if !ok {
			r.unrouted.Add(1)
			continue
		}
		p := append([]byte(nil), buf[:n]...)
		bytes, packets := wire(p, r.cfg.VNetHdr)
		r.links[src][dst].enqueue(time.Now(), p, bytes, packets)
	}
}

// classify returns the sites of an IPv4 packet's source and destination.
func (r *Router) classify(p []byte) (src, dst int, ok bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return 0, 0, false
	}
	src, ok1 := r.site(netip.AddrFrom4([4]byte(p[12:16])))
	dst, ok2 := r.site(netip.AddrFrom4([4]byte(p[16:20])))
	return src, dst, ok1 && ok2
}

func (r *Router) site(a netip.Addr) (int, bool) {
	for i, s := range r.cfg.Sites {
		for _, p := range s.Prefixes {
			if p.Contains(a) {
				return i, true
			}
		}
	}
	return 0, false
}

// Stats returns the counters so far; safe while Run runs.
func (r *Router) Stats() Stats {
	st := Stats{Unrouted: r.unrouted.Load()}
	for s, row := range r.links {
		for d, q := range row {
			ls := LinkStats{
				Src: r.cfg.Sites[s].Name, Dst: r.cfg.Sites[d].Name,
				Bytes: q.bytes.Load(), Packets: q.packets.Load(), Frames: q.frames.Load(), Dropped: q.dropped.Load(),
			}
			if ls.Packets > 0 || ls.Dropped > 0 {
				st.Links = append(st.Links, ls)
			}
		}
	}
	return st
}
