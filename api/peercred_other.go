//go:build !linux

package api

import (
	"errors"
	"net"
)

const groupsFromSockopt = "SO_PEERGROUPS"

// peerCred is Linux-only; elsewhere no peer is an admin.
func peerCred(*net.UnixConn) Peer {
	return Peer{Err: errors.New("peer credentials are only read on Linux")}
}
