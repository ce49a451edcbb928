// Package api is meshcache's local read and admin API: HTTP/1.1 over a unix
// socket, as Docker and containerd do. It holds the JSON types, the narrow
// Backend interface the daemon implements, the http.Handler with its route
// table, the unix-socket listener and server (peer credentials decide who is
// an admin), and the Go client the CLI and users' programs use.
//
// The package imports nothing else of meshcache: node/ adapts the real
// components to Backend. docs/api.md is the reference for every route.
package api

import (
	"context"
	"io"
	"net/http"

	"github.com/ipfs/go-cid"
)

// Backend is what the handler needs from the daemon. Methods return an
// *Error (see Errorf) to choose the HTTP status and code; any other error is
// answered as 500 with its message.
type Backend interface {
	// Open resolves path inside the dataset root; "" is the root itself.
	// path is slash-separated, clean and relative (the handler has checked).
	// A file comes back as Node.File (the handler closes it), a directory as
	// Node.Dir.
	Open(ctx context.Context, root cid.Cid, path string) (Node, error)
	// Block returns one raw block as a File (its CID is c).
	Block(ctx context.Context, c cid.Cid) (File, error)

	// Pin starts pinning (or reports the pin if it exists already).
	Pin(ctx context.Context, req PinRequest) (PinStatus, error)
	Pins(ctx context.Context) ([]PinStatus, error)
	PinStatus(ctx context.Context, c cid.Cid) (PinStatus, error)
	// Unpin removes the pin, cancelling it if it is still in progress.
	Unpin(ctx context.Context, c cid.Cid) error

	// Publish starts a publish job and returns its status (with its ID).
	Publish(ctx context.Context, req PublishRequest) (PublishStatus, error)
	PublishStatus(ctx context.Context, id string) (PublishStatus, error)

	GC(ctx context.Context) (GCResult, error)
	// Stats reports usage and counters; the handler fills Stats.API.
	Stats(ctx context.Context) (Stats, error)
	// ID and Peers may return NotAvailable until the mesh runs.
	ID(ctx context.Context) (Identity, error)
	Peers(ctx context.Context) ([]PeerInfo, error)
	// Metrics serves Prometheus metrics; nil answers 404.
	Metrics() http.Handler
}

// Node is what a dataset path names: exactly one of File and Dir is set.
type Node struct {
	File File
	Dir  *Dir
}

// File is an open, immutable byte sequence: a dataset file or a raw block.
type File interface {
	// CID identifies the content; it is the response's ETag.
	CID() cid.Cid
	Size() int64
	// WriteRange writes exactly n bytes starting at off (0 <= off,
	// off+n <= Size) to w, or returns an error. w implements io.ReaderFrom:
	// when the bytes come from a file on disk, io.Copy(w, src) with src an
	// io.NewSectionReader over the *os.File, or an io.LimitReader over an
	// *os.File positioned at the offset, reaches sendfile(2) on the socket.
	// Wrapping src in anything else forces a copy through user space.
	WriteRange(ctx context.Context, w io.Writer, off, n int64) (int64, error)
	Close() error
}
