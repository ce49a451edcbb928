//go:build !linux

package api

import (
	"io"
	"net"
	"sync/atomic"
)

// sendfileConn copies: the sendfile path is Linux-only.
type sendfileConn struct {
	*net.UnixConn
	sent *atomic.Int64
}

func (c *sendfileConn) ReadFrom(r io.Reader) (int64, error) { return io.Copy(c.UnixConn, r) }
