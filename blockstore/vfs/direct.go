package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// directAlign is the alignment O_DIRECT asks of buffers, lengths and
// offsets: the logical block size, at most 4 KiB on the disks we run on.
const directAlign = 4096

// CreateDirect implements FS. Where the file system refuses O_DIRECT
// (EINVAL, as some do), the file is an ordinary one.
func (OS) CreateDirect(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_DIRECT, 0o644)
	if errors.Is(err, syscall.EINVAL) {
		return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return nil, err
	}
	return &directFile{File: f}, nil
}

// directFile writes its one Write with O_DIRECT: the aligned part straight
// from the caller's buffer (the 1 MiB buffers Go allocates are page
// aligned, so a full block is never copied), the unaligned tail through a
// padded block that a truncate then cuts back to the real length.
type directFile struct {
	*os.File
	written bool
}

func (f *directFile) Write(p []byte) (int, error) {
	if f.written {
		return 0, &fs.PathError{Op: "write", Path: f.Name(), Err: errors.New("direct file: one write only")}
	}
	f.written = true
	if len(p) == 0 {
		return 0, nil
	}
	n, err := f.writeDirect(p)
	if errors.Is(err, syscall.EINVAL) {
		// The file system wants another alignment than directAlign: write
		// through the page cache instead.
		return f.writeBuffered(p)
	}
	return n, err
}

func (f *directFile) writeDirect(p []byte) (int, error) {
	head := len(p) &^ (directAlign - 1)
	if !aligned(p) {
		head = 0 // a rare caller's buffer: copy it all through padded blocks
	}
	if head > 0 {
		if n, err := f.File.Write(p[:head]); err != nil {
			return n, err
		}
	}
	tail := p[head:]
	if len(tail) == 0 {
		return len(p), nil
	}
	padded := alignedBuf((len(tail) + directAlign - 1) &^ (directAlign - 1))
	copy(padded, tail)
	if _, err := f.File.WriteAt(padded, int64(head)); err != nil {
		return head, err
	}
	if err := f.File.Truncate(int64(len(p))); err != nil {
		return head, fmt.Errorf("direct write: cut padding: %w", err)
	}
	return len(p), nil
}

func aligned(p []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(p)))%directAlign == 0
}

// alignedBuf returns n zeroed bytes starting at a directAlign boundary.
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(b))) & (directAlign - 1))
	return b[off : off+n]
}

// writeBuffered turns O_DIRECT off and writes p from the start.
func (f *directFile) writeBuffered(p []byte) (int, error) {
	sc, err := f.File.SyscallConn()
	if err != nil {
		return 0, err
	}
	var ferr error
	if err := sc.Control(func(fd uintptr) {
		var flags int
		if flags, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0); ferr == nil {
			_, ferr = unix.FcntlInt(fd, unix.F_SETFL, flags&^unix.O_DIRECT)
		}
	}); err != nil {
		return 0, err
	}
	if ferr != nil {
		return 0, &fs.PathError{Op: "fcntl", Path: f.Name(), Err: ferr}
	}
	if err := f.File.Truncate(0); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, 0)
}
