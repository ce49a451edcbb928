package dataset

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshcache/meshcache/dataset/internal/fixture"
	"github.com/meshcache/meshcache/origin"
)

// dirOrigin is a test origin.Origin and origin.Writer over a local folder
// (or, when single is set, over one file, listed with the path "").
type dirOrigin struct {
	root     string
	single   bool
	reads    atomic.Int64 // ReadRange calls
	writeErr error        // WriteFile fails with it when set
}

var (
	_ origin.Origin = (*dirOrigin)(nil)
	_ origin.Writer = (*dirOrigin)(nil)
)

func (o *dirOrigin) URL() string { return "file://" + filepath.ToSlash(o.root) }

func (o *dirOrigin) List(ctx context.Context) ([]origin.FileInfo, error) {
	if o.single {
		fi, err := o.Stat(ctx, "")
		return []origin.FileInfo{fi}, err
	}
	var out []origin.FileInfo
	err := filepath.WalkDir(o.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, o.root+string(filepath.Separator)))
		if d.IsDir() && rel == ".meshcache" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, origin.FileInfo{Path: rel, Size: info.Size(), ModTime: info.ModTime()})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

func (o *dirOrigin) path(p string) string {
	if o.single {
		return o.root
	}
	return filepath.Join(o.root, filepath.FromSlash(p))
}

func (o *dirOrigin) Stat(_ context.Context, p string) (origin.FileInfo, error) {
	info, err := os.Stat(o.path(p))
	if os.IsNotExist(err) {
		return origin.FileInfo{}, fmt.Errorf("%s: %w", p, origin.ErrNotFound)
	}
	if err != nil {
		return origin.FileInfo{}, err
	}
	return origin.FileInfo{Path: p, Size: info.Size(), ModTime: info.ModTime()}, nil
}

func (o *dirOrigin) ReadRange(ctx context.Context, p string, off, length int64, want origin.FileInfo) (io.ReadCloser, error) {
	o.reads.Add(1)
	now, err := o.Stat(ctx, p)
	if err != nil {
		return nil, err
	}
	if now.Size != want.Size || now.ModTime.Unix() != want.ModTime.Unix() {
		return nil, fmt.Errorf("%s: %w", p, origin.ErrChanged)
	}
	f, err := os.Open(o.path(p))
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, length), f}, nil
}

func (o *dirOrigin) WriteFile(_ context.Context, p string, r io.Reader, size int64) error {
	if o.writeErr != nil {
		return o.writeErr
	}
	if o.single {
		return fmt.Errorf("single file origin: %w", origin.ErrNotWritable)
	}
	dst := o.path(p)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("write %s: got %d bytes, want %d", p, n, size)
	}
	return os.Rename(f.Name(), dst)
}

// genOrigin serves fixture content generated on the fly (for the 1 GiB
// case, which is not worth writing to disk in a unit test). It is not
// writable.
type genOrigin struct {
	c     fixture.Case
	mtime time.Time
}

func (g *genOrigin) URL() string { return "gen://" + g.c.Name }

func (g *genOrigin) info(f fixture.File) origin.FileInfo {
	p := f.Path
	if g.c.Single {
		p = ""
	}
	return origin.FileInfo{Path: p, Size: f.Size, ModTime: g.mtime}
}

func (g *genOrigin) List(context.Context) ([]origin.FileInfo, error) {
	var out []origin.FileInfo
	for _, f := range g.c.Files {
		out = append(out, g.info(f))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (g *genOrigin) file(p string) (fixture.File, error) {
	for _, f := range g.c.Files {
		if g.info(f).Path == p {
			return f, nil
		}
	}
	return fixture.File{}, fmt.Errorf("%s: %w", p, origin.ErrNotFound)
}

func (g *genOrigin) Stat(_ context.Context, p string) (origin.FileInfo, error) {
	f, err := g.file(p)
	if err != nil {
		return origin.FileInfo{}, err
	}
	return g.info(f), nil
}

func (g *genOrigin) ReadRange(_ context.Context, p string, off, length int64, _ origin.FileInfo) (io.ReadCloser, error) {
	f, err := g.file(p)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.NewSectionReader(fixture.NewContent(f), off, length)), nil
}

// writeCase writes a fixture case into a fresh temporary folder and returns
// an origin over it.
func writeCase(t testing.TB, c fixture.Case) *dirOrigin {
	t.Helper()
	p, err := fixture.Write(t.TempDir(), c)
	if err != nil {
		t.Fatal(err)
	}
	return &dirOrigin{root: p, single: c.Single}
}

// caseBytes returns the expected bytes of every file of a case by dataset path.
func caseBytes(c fixture.Case) map[string][]byte {
	out := make(map[string][]byte)
	for _, f := range c.Files {
		p := f.Path
		if c.Single {
			p = ""
		}
		out[p] = fixture.NewContent(f).Bytes()
	}
	return out
}
