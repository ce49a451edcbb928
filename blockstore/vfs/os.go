package vfs

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// OS is the real file system. Its files are *os.File.
type OS struct{}

var _ FS = OS{}

// Create implements FS.
func (OS) Create(name string) (File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
}

// Open implements FS.
func (OS) Open(name string) (File, error) { return os.Open(name) }

// Rename implements FS.
func (OS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

// Remove implements FS.
func (OS) Remove(name string) error { return os.Remove(name) }

// MkdirAll implements FS.
func (OS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

// ReadDir implements FS.
func (OS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }

// Stat implements FS.
func (OS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// SyncDir implements FS.
func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return d.Close()
}

// OpenSyncer implements FS. The descriptor it holds samples the file
// system's write-back error sequence when opened (Linux 5.8 and later), so
// its Sync reports every error since then even if another descriptor's
// syncfs saw it first.
func (OS) OpenSyncer(dir string) (Syncer, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open syncer: %w", err)
	}
	return osSyncer{d}, nil
}

type osSyncer struct{ d *os.File }

func (s osSyncer) Sync() error {
	sc, err := s.d.SyscallConn()
	if err != nil {
		return fmt.Errorf("syncfs %s: %w", s.d.Name(), err)
	}
	var serr error
	if err := sc.Control(func(fd uintptr) { serr = unix.Syncfs(int(fd)) }); err != nil {
		return fmt.Errorf("syncfs %s: %w", s.d.Name(), err)
	}
	if serr != nil {
		return &fs.PathError{Op: "syncfs", Path: s.d.Name(), Err: serr}
	}
	return nil
}

func (s osSyncer) Close() error { return s.d.Close() }
