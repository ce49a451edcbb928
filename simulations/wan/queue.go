package wan

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"time"
)

// packet is a packet waiting for its departure time.
type packet struct {
	data    []byte
	release time.Time
	// wireBytes and wirePackets are what data is on the wire (see wire).
	wireBytes, wirePackets int64
}

// linkQueue is one directed link: a FIFO whose departure times only grow.
type linkQueue struct {
	link       Link
	maxBacklog time.Duration
	busyUntil  time.Time // owned by the reader goroutine
	ch         chan packet

	bytes, packets, frames, dropped atomic.Int64
}

func newLinkQueue(l Link, maxBacklog time.Duration, size int) *linkQueue {
	return &linkQueue{link: l, maxBacklog: maxBacklog, ch: make(chan packet, size)}
}

// enqueue schedules p: it leaves once the link has serialized everything
// before it and p itself (wireBytes, its size on the wire), plus the
// link's delay. It drops p when the rate backlog or the queue is full.
func (q *linkQueue) enqueue(now time.Time, p []byte, wireBytes, wirePackets int64) {
	release := now
	if q.link.Rate > 0 {
		start := now
		if q.busyUntil.After(now) {
			if q.busyUntil.Sub(now) > q.maxBacklog {
				q.dropped.Add(1)
				return
			}
			start = q.busyUntil
		}
		q.busyUntil = start.Add(time.Duration(float64(wireBytes) / q.link.Rate * float64(time.Second)))
		release = q.busyUntil
	}
	select {
	case q.ch <- packet{data: p, release: release.Add(q.link.Delay), wireBytes: wireBytes, wirePackets: wirePackets}:
	default:
		q.dropped.Add(1)
	}
}

// send writes packets to dev at their departure times until ctx ends.
func (q *linkQueue) send(ctx context.Context, dev io.Writer, log *slog.Logger) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var p packet
		select {
		case <-ctx.Done():
			return
		case p = <-q.ch:
		}
		if d := time.Until(p.release); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		if _, err := dev.Write(p.data); err != nil {
			if ctx.Err() != nil {
				return
			}
			// A packet the kernel refuses (e.g. no route) is lost, as on a wire.
			log.Debug("wan: write packet", "err", err)
			q.dropped.Add(1)
			continue
		}
		q.bytes.Add(p.wireBytes)
		q.packets.Add(p.wirePackets)
		q.frames.Add(1)
	}
}
