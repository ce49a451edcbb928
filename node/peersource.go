package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"

	"github.com/meshcache/meshcache/mesh/exchange"
	"github.com/meshcache/meshcache/prefetch"
)

// errNoHolders: no member of the region announced the dataset.
var errNoHolders = errors.New("no peer holds the dataset")

// holdersTTL is how long a DHT answer is reused: a pin asks for many
// batches, and one lookup per batch would cost more than the batch.
const holdersTTL = 10 * time.Second

// peerSource fetches a dataset's blocks from the members that announced
// it: of this node's region, or with remote, of the other regions it knows
// of (cross-region bytes). Holders are asked nearest first.
type peerSource struct {
	m      *meshNode
	root   cid.Cid
	remote bool
}

var _ prefetch.Source = peerSource{}

func (s peerSource) Name() string {
	if s.remote {
		return prefetch.SourceRemotePeer
	}
	return prefetch.SourcePeer
}

func (s peerSource) Fetch(ctx context.Context, want []prefetch.Want, got prefetch.GotFunc) error {
	var holders []peer.ID
	var err error
	if s.remote {
		holders, err = s.m.remoteHolders(ctx, s.root)
	} else {
		holders, err = s.m.holders(ctx, s.root)
	}
	if err != nil {
		return err
	}
	if len(holders) == 0 {
		return fmt.Errorf("dataset %s: %w", s.root, errNoHolders)
	}
	byCID := make(map[string][]prefetch.Want, len(want))
	remaining := make([]cid.Cid, 0, len(want))
	for _, w := range want {
		k := w.CID.KeyString()
		if len(byCID[k]) == 0 {
			remaining = append(remaining, w.CID)
		}
		byCID[k] = append(byCID[k], w)
	}
	var lastErr error
	for _, h := range holders { // ranked, penalised ones last
		if len(remaining) == 0 {
			return nil
		}
		done := s.m.load.add(h, int64(len(remaining))*avgBlock(want))
		missing, err := s.m.client.Fetch(ctx, h, remaining, func(b blocks.Block) error {
			for _, w := range byCID[b.Cid().KeyString()] {
				if err := got(w, b); err != nil {
					return err
				}
			}
			return nil
		})
		done()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			lastErr = err
			s.m.penalties.judge(h, err)
			s.m.silentHolder(h, err)
		}
		remaining = missing
	}
	if len(remaining) == 0 {
		return nil
	}
	if lastErr == nil {
		lastErr = errNoHolders
	}
	return fmt.Errorf("%d blocks of %s not found at %d peers: %w", len(remaining), s.root, len(holders), lastErr)
}

// silentHolder deals with a holder that went silent or cut a batch off:
// it is asked last at once (its provider record outlives it by minutes, so
// every later batch would otherwise wait a whole idle timeout on it
// first), and pinged in the background: one that answers is forgiven, one
// that does not is disconnected, which drops it from pin views and the
// peer list now rather than at the transport's idle timeout.
func (m *meshNode) silentHolder(h peer.ID, err error) {
	var pe *exchange.PeerError
	if !errors.As(err, &pe) || errors.Is(err, exchange.ErrBadBlock) || errors.Is(err, exchange.ErrProtocol) || errors.Is(err, exchange.ErrBusy) {
		return
	}
	m.penalties.silent(h)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.ctx.Err() != nil || m.pinging[h] {
		return
	}
	if m.pinging == nil {
		m.pinging = map[peer.ID]bool{}
	}
	m.pinging[h] = true
	ctx := m.ctx
	m.wg.Go(func() {
		defer func() {
			m.mu.Lock()
			delete(m.pinging, h)
			m.mu.Unlock()
		}()
		pctx, cancel := context.WithTimeout(ctx, m.progressTimeout)
		defer cancel()
		var perr error
		select {
		case res := <-ping.Ping(pctx, m.host, h):
			perr = res.Error
		case <-pctx.Done():
			perr = pctx.Err()
		}
		if ctx.Err() != nil {
			return
		}
		if perr == nil {
			m.penalties.forgive(h)
			return
		}
		m.log.Warn("holder silent and not answering pings: disconnected", "peer", h, "err", err, "ping", perr)
		_ = m.host.Network().ClosePeer(h)
	})
}

// avgBlock is the mean wanted block size, for bytes in flight.
func avgBlock(want []prefetch.Want) int64 {
	if len(want) == 0 {
		return 0
	}
	var n int64
	for _, w := range want {
		n += w.Size
	}
	return n / int64(len(want))
}

// announce provides root as held by this node, in the background: the DHT
// round trips must not hold up the pin that just finished.
func (m *meshNode) announce(root cid.Cid) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx == nil || m.ctx.Err() != nil {
		return
	}
	ctx := m.ctx
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.discovery.Provide(ctx, root, m.cfg.Region); err != nil && ctx.Err() == nil {
			m.log.Warn("announce dataset", "root", root, "err", err)
		}
	}()
}
