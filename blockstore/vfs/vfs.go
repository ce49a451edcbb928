// Package vfs is the block store's file-system seam: every file access of the
// disk store goes through FS, so tests can run it on an in-memory file system
// that simulates power cuts (MemFS.Crash) or wrap it to inject faults
// (package faultfs). OS is the real file system.
package vfs

import (
	"io"
	"io/fs"
)

// File is an open file. *os.File satisfies it, and OS returns *os.File values,
// so callers that need a real descriptor (sendfile) can type-assert.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	// Sync makes the file's data durable (fsync).
	Sync() error
	Stat() (fs.FileInfo, error)
}

// FS is the set of file-system operations the disk store uses. Paths are
// host paths (filepath syntax).
type FS interface {
	// Create creates name for reading and writing; it fails if name exists,
	// so two writers never share a temp file.
	Create(name string) (File, error)
	// CreateDirect is Create for a file whose whole content is given in
	// one Write and that should bypass the page cache (O_DIRECT) where the
	// file system allows: filling fresh page-cache pages costs about as
	// much CPU here as hashing the bytes. Callers give the whole content to
	// one Write (OS's files refuse a second one). Like
	// Create's, its data is durable only after Sync (or a Syncer's Sync).
	CreateDirect(name string) (File, error)
	// Open opens name read-only.
	Open(name string) (File, error)
	// Rename atomically replaces newname with oldname. The change is durable
	// only after SyncDir of newname's directory.
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// MkdirAll creates dir and its missing parents. New entries are durable
	// only after SyncDir of each parent.
	MkdirAll(dir string, perm fs.FileMode) error
	// ReadDir lists dir sorted by name.
	ReadDir(dir string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
	// SyncDir makes dir's entries (creations, renames, removals) durable.
	SyncDir(dir string) error
	// OpenSyncer returns a Syncer for the whole file system holding dir.
	// Open it before writing what its Sync must make durable: it reports
	// the write-back errors of the file system from the moment it is open.
	OpenSyncer(dir string) (Syncer, error)
}

// Syncer makes everything written on one file system durable at once, as
// syncfs(2) does: one sync instead of an fsync per file and per directory,
// which is what makes committing many small files as a group cheap.
type Syncer interface {
	// Sync makes the data of every file and every directory entry on the
	// file system durable. It fails if any write-back on the file system
	// failed since the Syncer was opened or last synced, whichever file
	// it was for (the kernel does not say which), so a caller must treat
	// a failure as "none of what I wrote is known to be durable".
	Sync() error
	Close() error
}

// Op names an FS or File operation, for fault injection.
type Op int

// The operations a fault hook can intercept.
const (
	OpCreate Op = iota + 1
	OpOpen
	OpRead
	OpWrite
	OpSync
	OpClose
	OpStat
	OpRename
	OpRemove
	OpMkdir
	OpReadDir
	OpSyncDir
	OpSyncFS
)

var opNames = [...]string{
	OpCreate: "create", OpOpen: "open", OpRead: "read", OpWrite: "write",
	OpSync: "sync", OpClose: "close", OpStat: "stat", OpRename: "rename",
	OpRemove: "remove", OpMkdir: "mkdir", OpReadDir: "readdir", OpSyncDir: "syncdir", OpSyncFS: "syncfs",
}

func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "op(?)"
}
