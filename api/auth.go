package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// Peer is the process at the other end of a unix-socket connection, as the
// kernel reported it when the connection was made.
type Peer struct {
	PID int32
	UID uint32
	GID uint32
	// Groups are the supplementary groups.
	Groups []uint32
	// GroupsFrom says where Groups came from: "SO_PEERGROUPS", or
	// "/proc/<pid>/status" on kernels without SO_PEERGROUPS (racy: the pid
	// may have exited and been reused).
	GroupsFrom string
	// Err is set when the credentials could not be read; such a peer is
	// never an admin.
	Err error
}

type peerKey struct{}

// WithPeer returns ctx carrying the connection's peer. The Server does this
// for every connection; tests and other transports may too.
func WithPeer(ctx context.Context, p Peer) context.Context {
	return context.WithValue(ctx, peerKey{}, p)
}

// PeerFromContext returns the peer stored by WithPeer.
func PeerFromContext(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// Admins says who may publish, pin, unpin and collect garbage: root, the
// daemon's own uid, and members (primary or supplementary) of Group.
type Admins struct {
	DaemonUID uint32
	// Group is the admin group; nil means none.
	Group *Group
}

// Group names a unix group.
type Group struct {
	Name string
	GID  uint32
}

// authorize returns nil when the request's peer is an admin, else a 403
// *Error that says why, naming action ("pin", "publish", …).
func (a Admins) authorize(ctx context.Context, action string) error {
	p, ok := PeerFromContext(ctx)
	switch {
	case !ok:
		return Errorf(http.StatusForbidden, CodeForbidden,
			"%s needs an admin: this connection's peer credentials are unknown (admin requests are accepted only on the unix socket)", action)
	case p.Err != nil:
		return Errorf(http.StatusForbidden, CodeForbidden,
			"%s needs an admin: the daemon could not read this connection's peer credentials: %v", action, p.Err)
	case p.UID == 0 || p.UID == a.DaemonUID:
		return nil
	case a.Group != nil && (p.GID == a.Group.GID || slices.Contains(p.Groups, a.Group.GID)):
		return nil
	}
	return Errorf(http.StatusForbidden, CodeForbidden, "%s needs an admin: %s", action, a.refusal(p))
}

func (a Admins) refusal(p Peer) string {
	who := fmt.Sprintf("uid %d is not root, not the daemon's uid %d", p.UID, a.DaemonUID)
	if a.Group == nil {
		return who + ", and the daemon has no admin group configured"
	}
	return fmt.Sprintf("%s and not in group '%s' (gid %d)", who, a.Group.Name, a.Group.GID)
}
