package exchange

import (
	"errors"
	"fmt"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Sentinel errors callers branch on; they arrive inside a *PeerError that
// names the peer.
var (
	// ErrBadBlock: the peer sent bytes that do not hash to the CID asked
	// for. Nothing was delivered; penalise the peer and fetch elsewhere.
	ErrBadBlock = errors.New("peer sent bytes that do not match the CID")
	// ErrProtocol: the peer sent a malformed, oversized or truncated frame.
	ErrProtocol = errors.New("peer broke the block protocol")
	// ErrBusy: the peer has too many of our requests in flight; retry later
	// or elsewhere.
	ErrBusy = errors.New("peer busy")
	// ErrTimeout: the peer sent nothing for ClientConfig.IdleTimeout
	// during a batch: it is stopped, stalled or cut off.
	ErrTimeout = errors.New("peer silent past the idle timeout")
)

// PeerError is a failure attributable to one peer (and, for a bad block,
// one CID).
type PeerError struct {
	Peer peer.ID
	// CID is the block concerned, cid.Undef when the failure is not about
	// one block.
	CID cid.Cid
	Err error
}

func (e *PeerError) Error() string {
	if e.CID.Defined() {
		return fmt.Sprintf("peer %s, block %s: %v", e.Peer, e.CID, e.Err)
	}
	return fmt.Sprintf("peer %s: %v", e.Peer, e.Err)
}

func (e *PeerError) Unwrap() error { return e.Err }
