package origin

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// List walks the prefix: regular files only, symlinks followed while their
// target stays inside the prefix (a symlink to a directory that is already
// being walked, a loop, is left out), .meshcache folders left out.
func (f *fileOrigin) List(ctx context.Context) ([]FileInfo, error) {
	if f.files != nil {
		files, err := f.statFiles(ctx, f.Stat)
		if err != nil {
			return nil, err
		}
		return f.sortListing(files)
	}
	w := &walker{f: f, ctx: ctx, onPath: map[string]bool{f.root: true}}
	if err := w.dir(f.root, ""); err != nil {
		return nil, err
	}
	return f.sortListing(w.out)
}

// walker holds one walk's state.
type walker struct {
	f   *fileOrigin
	ctx context.Context
	// onPath holds the real paths of the directories being walked, from
	// the root down: entering one of them again would loop.
	onPath map[string]bool
	out    []FileInfo
}

// dir lists the directory at real path dirPath, whose listing path is rel.
func (w *walker) dir(dirPath, rel string) error {
	if err := w.ctx.Err(); err != nil {
		return w.f.fail(err, "list", rel, "", nil)
	}
	ents, err := os.ReadDir(dirPath)
	if err != nil {
		f := classifyFS(err)
		return w.f.fail(f.kind, "list", rel, "read directory", err)
	}
	for _, e := range ents {
		if e.Name() == MetaDir {
			continue
		}
		if err := w.entry(filepath.Join(dirPath, e.Name()), path.Join(rel, e.Name()), e.Type()); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) entry(p, rel string, typ fs.FileMode) error {
	switch {
	case typ.IsRegular():
		st, err := os.Lstat(p)
		if err != nil {
			return w.f.fail(classifyFS(err).kind, "list", rel, "stat", err)
		}
		w.out = append(w.out, fileInfo(rel, st))
	case typ.IsDir():
		return w.enter(p, rel)
	case typ&fs.ModeSymlink != 0:
		return w.symlink(p, rel)
	}
	return nil // sockets, pipes, devices
}

// symlink follows a link whose target stays inside the prefix; dangling
// links, loops and links leading out are left out (at debug level).
func (w *walker) symlink(p, rel string) error {
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		w.f.log.Debug("origin listing skips a broken symlink", "origin", w.f.url, "path", rel, "err", err)
		return nil
	}
	if !insideDir(target, w.f.root) {
		w.f.log.Debug("origin listing skips a symlink leading outside", "origin", w.f.url, "path", rel)
		return nil
	}
	st, err := os.Stat(target)
	if err != nil {
		return nil
	}
	switch {
	case st.Mode().IsRegular():
		w.out = append(w.out, fileInfo(rel, st))
	case st.IsDir():
		return w.enter(target, rel)
	}
	return nil
}

// enter walks a sub-directory unless it is already on the walk's path.
// real is a real path: a directory found under a real directory, or a
// symlink's resolved target.
func (w *walker) enter(real, rel string) error {
	if w.onPath[real] {
		w.f.log.Debug("origin listing skips a symlink loop", "origin", w.f.url, "path", rel)
		return nil
	}
	w.onPath[real] = true
	defer delete(w.onPath, real)
	return w.dir(real, rel)
}
