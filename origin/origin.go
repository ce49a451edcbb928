// Package origin reads dataset files from their origin repository: a local
// or network filesystem (file://), an HTTP(S) server, or an S3 bucket. It
// lists files for publishing, reads byte ranges for cold misses, checks that
// the object still has the version recorded at publish time, retries
// transient failures with backoff, limits concurrency per origin, and refuses
// any origin outside the operator's allowlist. Credentials never appear in
// URLs, logs or errors it returns.
package origin

import (
	"context"
	"errors"
	"io"
	"time"
)

// Sentinel errors callers branch on.
var (
	// ErrChanged: the object differs from the version recorded at publish.
	ErrChanged = errors.New("origin changed")
	// ErrNotAllowed: the origin is not on the daemon's allowlist.
	ErrNotAllowed = errors.New("origin not allowed")
	// ErrNotFound: the object does not exist at the origin.
	ErrNotFound = errors.New("object not found at origin")
	// ErrUnavailable: the origin failed (5xx, refused connection) after retries.
	ErrUnavailable = errors.New("origin unavailable")
	// ErrTimeout: the origin did not answer in time after retries.
	ErrTimeout = errors.New("origin timed out")
	// ErrNotWritable: the origin cannot store files (HTTP).
	ErrNotWritable = errors.New("origin is not writable")
	// ErrBadResponse: the origin answered something that cannot be right
	// (short body, wrong range, unparseable listing).
	ErrBadResponse = errors.New("bad response from origin")
)

// FileInfo describes one file (object) under an origin's prefix, as seen at
// publish time or now.
type FileInfo struct {
	// Path is slash-separated and relative to the origin's prefix.
	Path    string    `json:"path"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
	// ETag is a strong ETag as the origin gave it, "" when none or weak.
	ETag string `json:"etag,omitempty"`
	// VersionID is an S3 versionId, "" when unversioned.
	VersionID string `json:"version_id,omitempty"`
}

// Origin is one origin location (a URL prefix).
type Origin interface {
	// URL is the origin's location without credentials.
	URL() string
	// List returns the regular files under the prefix sorted by Path,
	// excluding .meshcache/.
	List(ctx context.Context) ([]FileInfo, error)
	// Stat returns one file's current version.
	Stat(ctx context.Context, path string) (FileInfo, error)
	// ReadRange returns exactly length bytes of path starting at off. want is
	// the version recorded at publish: Size and ModTime (compared at one
	// second precision) are always checked, ETag and VersionID when non-empty;
	// a mismatch is an error wrapping ErrChanged that names the object.
	ReadRange(ctx context.Context, path string, off, length int64, want FileInfo) (io.ReadCloser, error)
}

// Writer is an origin that can store files (file://, s3://).
type Writer interface {
	// WriteFile stores size bytes from r at path (relative to the prefix),
	// replacing any existing file atomically where the origin allows.
	WriteFile(ctx context.Context, path string, r io.Reader, size int64) error
}
