// Package faultfs wraps a vfs.FS so tests can make chosen operations fail:
// a write, an fsync, a file-system sync or a rename whose path matches, the Nth operation, a full
// disk (ENOSPC), or any generic hook, such as one that kills the process
// between a block's write and its rename.
package faultfs

import (
	"errors"
	"io/fs"
	"sync/atomic"

	"github.com/meshcache/meshcache/blockstore/vfs"
)

// ErrInjected is a generic injected failure.
var ErrInjected = errors.New("injected fault")

// Hook runs before every operation. A non-nil result makes the operation fail
// with that error (inside an *fs.PathError, so errors.Is sees through it)
// without reaching the wrapped FS. For Rename, path is the new name.
type Hook func(op vfs.Op, path string) error

// FS is a vfs.FS whose operations first pass through a hook.
type FS struct {
	inner vfs.FS
	hook  atomic.Pointer[Hook]
}

var _ vfs.FS = (*FS)(nil)

// New wraps inner. A nil hook lets everything through.
func New(inner vfs.FS, hook Hook) *FS {
	f := &FS{inner: inner}
	f.SetHook(hook)
	return f
}

// SetHook replaces the hook; nil removes it. Safe while the FS is in use.
func (f *FS) SetHook(h Hook) {
	if h == nil {
		f.hook.Store(nil)
		return
	}
	f.hook.Store(&h)
}

func (f *FS) check(op vfs.Op, path string) error {
	h := f.hook.Load()
	if h == nil {
		return nil
	}
	if err := (*h)(op, path); err != nil {
		return &fs.PathError{Op: op.String(), Path: path, Err: err}
	}
	return nil
}

// Create implements vfs.FS.
func (f *FS) Create(name string) (vfs.File, error) {
	if err := f.check(vfs.OpCreate, name); err != nil {
		return nil, err
	}
	file, err := f.inner.Create(name)
	if err != nil {
		return nil, err
	}
	return &File{File: file, fs: f, name: name}, nil
}

// CreateDirect implements vfs.FS; hooks see it as OpCreate.
func (f *FS) CreateDirect(name string) (vfs.File, error) {
	if err := f.check(vfs.OpCreate, name); err != nil {
		return nil, err
	}
	file, err := f.inner.CreateDirect(name)
	if err != nil {
		return nil, err
	}
	return &File{File: file, fs: f, name: name}, nil
}

// Open implements vfs.FS.
func (f *FS) Open(name string) (vfs.File, error) {
	if err := f.check(vfs.OpOpen, name); err != nil {
		return nil, err
	}
	file, err := f.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &File{File: file, fs: f, name: name}, nil
}

// Rename implements vfs.FS.
func (f *FS) Rename(oldname, newname string) error {
	if err := f.check(vfs.OpRename, newname); err != nil {
		return err
	}
	return f.inner.Rename(oldname, newname)
}

// Remove implements vfs.FS.
func (f *FS) Remove(name string) error {
	if err := f.check(vfs.OpRemove, name); err != nil {
		return err
	}
	return f.inner.Remove(name)
}

// MkdirAll implements vfs.FS.
func (f *FS) MkdirAll(dir string, perm fs.FileMode) error {
	if err := f.check(vfs.OpMkdir, dir); err != nil {
		return err
	}
	return f.inner.MkdirAll(dir, perm)
}

// ReadDir implements vfs.FS.
func (f *FS) ReadDir(dir string) ([]fs.DirEntry, error) {
	if err := f.check(vfs.OpReadDir, dir); err != nil {
		return nil, err
	}
	return f.inner.ReadDir(dir)
}

// Stat implements vfs.FS.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	if err := f.check(vfs.OpStat, name); err != nil {
		return nil, err
	}
	return f.inner.Stat(name)
}

// SyncDir implements vfs.FS.
func (f *FS) SyncDir(dir string) error {
	if err := f.check(vfs.OpSyncDir, dir); err != nil {
		return err
	}
	return f.inner.SyncDir(dir)
}

// OpenSyncer implements vfs.FS. Opening passes through; each Sync of the
// Syncer is an OpSyncFS on dir, so a hook can fail it or kill before it.
func (f *FS) OpenSyncer(dir string) (vfs.Syncer, error) {
	sy, err := f.inner.OpenSyncer(dir)
	if err != nil {
		return nil, err
	}
	return &syncer{Syncer: sy, fs: f, dir: dir}, nil
}

type syncer struct {
	vfs.Syncer
	fs  *FS
	dir string
}

func (s *syncer) Sync() error {
	if err := s.fs.check(vfs.OpSyncFS, s.dir); err != nil {
		return err
	}
	return s.Syncer.Sync()
}

// File is a file opened through FS. Unwrap gives the wrapped file (an
// *os.File over vfs.OS) for callers that need a descriptor.
type File struct {
	vfs.File
	fs   *FS
	name string
}

// Unwrap returns the wrapped file.
func (f *File) Unwrap() vfs.File { return f.File }

func (f *File) Read(p []byte) (int, error) {
	if err := f.fs.check(vfs.OpRead, f.name); err != nil {
		return 0, err
	}
	return f.File.Read(p)
}

func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(vfs.OpRead, f.name); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *File) Write(p []byte) (int, error) {
	if err := f.fs.check(vfs.OpWrite, f.name); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *File) Sync() error {
	if err := f.fs.check(vfs.OpSync, f.name); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *File) Stat() (fs.FileInfo, error) {
	if err := f.fs.check(vfs.OpStat, f.name); err != nil {
		return nil, err
	}
	return f.File.Stat()
}

// Close always closes the wrapped file, so an injected close error leaks no
// descriptor.
func (f *File) Close() error {
	err := f.fs.check(vfs.OpClose, f.name)
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}
