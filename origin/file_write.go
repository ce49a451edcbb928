package origin

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile stores size bytes from r at rel durably and atomically: a temp
// file in the same directory, fsync, rename, fsync of the directory. Missing
// directories (such as .meshcache/) are created. A reader that gives more
// or fewer than size bytes leaves nothing behind.
func (f *fileOrigin) WriteFile(ctx context.Context, rel string, r io.Reader, size int64) error {
	if err := checkRel(rel); err != nil {
		return f.fail(ErrNotAllowed, "write", rel, err.Error(), nil)
	}
	dir := filepath.Join(f.root, filepath.FromSlash(filepath.Dir(rel)))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return f.fail(ErrUnavailable, "write", rel, "create directory", err)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return f.fail(ErrUnavailable, "write", rel, "resolve directory", err)
	}
	if !insideDir(real, f.root) {
		return f.fail(ErrNotAllowed, "write", rel, "a symlink leads outside the origin", nil)
	}
	return f.writeAtomic(ctx, real, rel, r, size)
}

func (f *fileOrigin) writeAtomic(ctx context.Context, dir, rel string, r io.Reader, size int64) error {
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(rel)+".tmp-*")
	if err != nil {
		return f.fail(ErrUnavailable, "write", rel, "create temp file", err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, io.LimitReader(ctxReader{ctx, r}, size+1))
	switch {
	case err != nil && ctx.Err() != nil:
		return f.fail(ctx.Err(), "write", rel, "", nil)
	case err != nil:
		return fmt.Errorf("write %s/%s: read source: %w", f.url, rel, err)
	case n != size:
		return fmt.Errorf("write %s/%s: source gave %d bytes, want %d", f.url, rel, min(n, size+1), size)
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"chmod", func() error { return tmp.Chmod(0o644) }},
		{"fsync", tmp.Sync},
		{"close", tmp.Close},
		{"rename", func() error { return os.Rename(tmp.Name(), filepath.Join(dir, filepath.Base(rel))) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return f.fail(ErrUnavailable, "write", rel, s.what, err)
		}
	}
	ok = true
	if err := syncDir(dir); err != nil {
		return f.fail(ErrUnavailable, "write", rel, "fsync directory", err)
	}
	return nil
}

// syncDir makes a rename durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
