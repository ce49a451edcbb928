package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// fileOrigin is a directory on a local or network file system (file://).
// Reads rely on the mount's own timeouts: a system call stuck in the kernel
// cannot be interrupted.
type fileOrigin struct {
	base
	// root is the prefix's real path (symlinks resolved at Open).
	root string
}

var (
	_ Origin = (*fileOrigin)(nil)
	_ Writer = (*fileOrigin)(nil)
)

// resolve maps rel to a real path under root, following symlinks only
// while they stay inside it.
func (f *fileOrigin) resolve(rel string) (string, error) {
	if err := checkRel(rel); err != nil {
		return "", permanent(ErrNotAllowed, err.Error(), nil)
	}
	p, err := filepath.EvalSymlinks(filepath.Join(f.root, filepath.FromSlash(rel)))
	if err != nil {
		return "", classifyFS(err)
	}
	if !insideDir(p, f.root) {
		return "", permanent(ErrNotAllowed, "a symlink leads outside the origin", nil)
	}
	return p, nil
}

// insideDir reports whether p is root or below it (native paths).
func insideDir(p, root string) bool {
	return within(filepath.ToSlash(p), filepath.ToSlash(root))
}

// classifyFS maps file-system errors; NFS's stale handles and timeouts are
// worth another try.
func classifyFS(err error) *failure {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return permanent(ErrNotFound, "no such file", err)
	case errors.Is(err, syscall.ELOOP):
		return permanent(ErrNotFound, "symlink loop", err)
	case errors.Is(err, syscall.ESTALE), errors.Is(err, syscall.ETIMEDOUT),
		errors.Is(err, syscall.EIO), errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
		return transient(ErrUnavailable, "file system error", err)
	case errors.Is(err, fs.ErrPermission):
		return permanent(ErrUnavailable, "permission denied", err)
	}
	return permanent(ErrUnavailable, "file system error", err)
}

func fileInfo(rel string, st fs.FileInfo) FileInfo {
	return FileInfo{Path: rel, Size: st.Size(), ModTime: st.ModTime().UTC()}
}

// Stat returns a file's current size and mtime.
func (f *fileOrigin) Stat(ctx context.Context, rel string) (FileInfo, error) {
	var fi FileInfo
	err := f.do(ctx, "stat", rel, func(context.Context) error {
		p, err := f.resolve(rel)
		if err != nil {
			return err
		}
		st, err := os.Stat(p)
		if err != nil {
			return classifyFS(err)
		}
		if !st.Mode().IsRegular() {
			return permanent(ErrNotFound, "not a regular file", nil)
		}
		fi = fileInfo(rel, st)
		return nil
	})
	return fi, err
}

// ReadRange opens the file, checks its size and mtime against want, and
// returns a reader of exactly length bytes. A file that shrinks while it is
// read fails with ErrChanged.
func (f *fileOrigin) ReadRange(ctx context.Context, rel string, off, length int64, want FileInfo) (io.ReadCloser, error) {
	if err := checkRange(rel, off, length, want); err != nil {
		return nil, err
	}
	var rr *rangeReader
	err := f.do(ctx, "read", rel, func(ctx context.Context) error {
		release, err := f.acquire(ctx)
		if err != nil {
			return err
		}
		fh, err := f.openChecked(rel, want)
		if err != nil {
			release()
			return err
		}
		rr = &rangeReader{
			body: struct {
				io.Reader
				io.Closer
			}{io.NewSectionReader(fh, off, length), fh},
			left: length, want: length, count: f.read, done: release,
			short: func(got, want int64) error {
				return f.fail(ErrChanged, "read", rel, fmt.Sprintf("file ended after %d of %d bytes: it is shorter than at publish", got, want), nil)
			},
			fail: func(err error) error { return f.fail(ErrUnavailable, "read", rel, "read failed", err) },
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rr, nil
}

// openChecked opens rel and checks it against the version at publish.
func (f *fileOrigin) openChecked(rel string, want FileInfo) (*os.File, error) {
	p, err := f.resolve(rel)
	if err != nil {
		return nil, err
	}
	fh, err := os.Open(p)
	if err != nil {
		return nil, classifyFS(err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, classifyFS(err)
	}
	if !st.Mode().IsRegular() {
		fh.Close()
		return nil, permanent(ErrNotFound, "not a regular file", nil)
	}
	if d := changes(want, fileInfo(rel, st)); d != "" {
		fh.Close()
		return nil, permanent(ErrChanged, d, nil)
	}
	return fh, nil
}
