package policy

import "time"

// CrossRegion is the knob that lets regions fetch pieces from each other.
type CrossRegion struct {
	// Global enables fetching from other regions ("coordinated-global"):
	// each piece is read from the origin once in the whole cluster, by the
	// owner region that a region Table picks, and other regions fetch it
	// from there. Off ("coordinated"), each region reads each piece from
	// the origin once.
	Global bool
	// MaxRTT, when positive, is the farthest a remote region may be for a
	// fetch from it; farther ones read the origin instead (for an origin
	// near the cluster and regions far from each other). Unknown RTTs count
	// as near: the first transfer measures them.
	MaxRTT time.Duration
}

// Source is where a piece comes from when no holder in the region has it.
type Source int

const (
	// SourceOrigin reads the origin (the in-region owner does).
	SourceOrigin Source = iota
	// SourceRemoteHolder fetches from a node in another region that holds
	// the piece; rank the remote holders with RankHolders.
	SourceRemoteHolder
	// SourceRemoteOwner queues the want at the owner region's piece owner,
	// which is reading the piece from the origin.
	SourceRemoteOwner
)

func (s Source) String() string {
	switch s {
	case SourceOrigin:
		return "origin"
	case SourceRemoteHolder:
		return "remote-holder"
	case SourceRemoteOwner:
		return "remote-owner"
	}
	return "unknown"
}

// RemotePiece is what the in-region owner of a piece knows about it when
// no in-region holder has it.
type RemotePiece struct {
	// LocalRegion is this node's region.
	LocalRegion string
	// OwnerRegion is the region that reads the piece from the origin under
	// Global: a Table over the view of regions that want the dataset, with
	// regions that stalled on this piece failed (Takeover). Empty when
	// unknown.
	OwnerRegion string
	// RemoteHolder reports a holder of the piece in another region;
	// RemoteRTT is the RTT to the best remote candidate (that holder, else
	// the owner region's piece owner), 0 when unknown.
	RemoteHolder bool
	RemoteRTT    time.Duration
}

// Decide says where a piece with no in-region holder comes from. Without
// Global, or with the remote side too far, it is the origin. With Global:
// a remote holder if there is one (the bytes exist, the origin need not be
// read again); else, if another region owns the piece, wait on that
// region's owner; else (this region owns it, or no owner is known) the
// origin.
func (c CrossRegion) Decide(p RemotePiece) Source {
	if !c.Global || (c.MaxRTT > 0 && p.RemoteRTT > c.MaxRTT) {
		return SourceOrigin
	}
	if p.RemoteHolder {
		return SourceRemoteHolder
	}
	if p.OwnerRegion != "" && p.OwnerRegion != p.LocalRegion {
		return SourceRemoteOwner
	}
	return SourceOrigin
}
