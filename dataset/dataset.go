// Package dataset gives a dataset its structure: publishing a folder from an
// origin as a UnixFS DAG with the IPIP-499 unixfs-v1-2025 profile, the
// dataset record that binds a root CID to its origin and file versions, the
// CAR file that carries the metadata blocks and the record, and the flat
// on-disk index (path → size, leaf CIDs, offsets, origin location) that turns
// a read into one lookup.
package dataset

import (
	"errors"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/origin"
)

// Sentinel errors callers branch on.
var (
	// ErrNoSuchPath: the path is not in the dataset.
	ErrNoSuchPath = errors.New("no such path in dataset")
	// ErrNotDir / ErrIsDir: the path names the other kind of entry.
	ErrNotDir = errors.New("not a directory")
	ErrIsDir  = errors.New("is a directory")
	// ErrNoRecord: no dataset record is known for the root.
	ErrNoRecord = errors.New("no dataset record")
	// ErrBadCAR: a CAR file is malformed or does not describe the root.
	ErrBadCAR = errors.New("bad CAR file")
)

// ChunkSize is the leaf size of the unixfs-v1-2025 profile.
const ChunkSize = 1 << 20

// Record binds a dataset's root CID to its origin and to each file's version
// at publish time. It travels with the metadata (in the CAR file and between
// peers), so a node that learns a dataset also learns where it came from.
type Record struct {
	Root cid.Cid `json:"-"`
	// Origin is the URL published from, without credentials.
	Origin string `json:"origin"`
	// Profile names the import profile ("unixfs-v1-2025").
	Profile string `json:"profile"`
	// Files are every file of the dataset, sorted by Path.
	Files []origin.FileInfo `json:"files"`
	// Size is the sum of the files' sizes.
	Size int64 `json:"size"`
}

// CARPath is where publish writes a dataset's CAR file under the origin's
// prefix.
func CARPath(root cid.Cid) string { return ".meshcache/" + root.String() + ".car" }
