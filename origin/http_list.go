package origin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"
)

// Listing limits: a JSON index larger than maxIndexBytes, or a tree deeper
// than maxListDepth (a symlink loop on the server looks like that), is a
// bad response.
const (
	maxIndexBytes = 256 << 20
	maxListDepth  = 64
)

// autoindexHint says how to make an HTTP origin listable.
const autoindexHint = "serve the directory with nginx's `autoindex on; autoindex_format json;`, or give the file list (--files FILE)"

// indexEntry is one entry of nginx's JSON autoindex.
type indexEntry struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	MTime string `json:"mtime"`
	Size  *int64 `json:"size"`
}

// List walks nginx's JSON autoindex from the prefix down, one directory
// level at a time with up to MaxConcurrent requests, or stats the files
// given with WithFiles. nginx's autoindex leaves out dot-files; .meshcache
// folders are left out here.
func (h *httpOrigin) List(ctx context.Context) ([]FileInfo, error) {
	if h.files != nil {
		files, err := h.statFiles(ctx, h.Stat)
		if err != nil {
			return nil, err
		}
		return h.sortListing(files)
	}
	var (
		out   []FileInfo
		level = []string{""}
	)
	for depth := 0; len(level) > 0; depth++ {
		if depth > maxListDepth {
			return nil, h.fail(ErrBadResponse, "list", level[0], fmt.Sprintf("directories nest deeper than %d levels (a symlink loop on the server?)", maxListDepth), nil)
		}
		files, dirs, err := h.listLevel(ctx, level)
		if err != nil {
			return nil, err
		}
		out, level = append(out, files...), dirs
	}
	return h.sortListing(out)
}

// listLevel reads the indexes of dirs concurrently.
func (h *httpOrigin) listLevel(ctx context.Context, dirs []string) (files []FileInfo, subdirs []string, err error) {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.width)
	for _, dir := range dirs {
		g.Go(func() error {
			f, d, err := h.listDir(gctx, dir)
			mu.Lock()
			defer mu.Unlock()
			files, subdirs = append(files, f...), append(subdirs, d...)
			return err
		})
	}
	return files, subdirs, g.Wait()
}

// listDir reads one directory's index.
func (h *httpOrigin) listDir(ctx context.Context, dir string) (files []FileInfo, subdirs []string, err error) {
	var ents []indexEntry
	err = h.do(ctx, "list", dir, func(ctx context.Context) error {
		var err error
		ents, err = h.readIndex(ctx, dir)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if e.Name == "" || e.Name == "." || e.Name == ".." || strings.ContainsAny(e.Name, "/\x00") || !utf8.ValidString(e.Name) {
			return nil, nil, h.fail(ErrBadResponse, "list", dir, fmt.Sprintf("index entry with invalid name %q", e.Name), nil)
		}
		rel := path.Join(dir, e.Name)
		switch e.Type {
		case "directory":
			if e.Name != MetaDir {
				subdirs = append(subdirs, rel)
			}
		case "file":
			fi, err := indexFileInfo(rel, e)
			if err != nil {
				return nil, nil, h.fail(ErrBadResponse, "list", rel, err.Error(), nil)
			}
			files = append(files, fi)
		}
	}
	return files, subdirs, nil
}

func indexFileInfo(rel string, e indexEntry) (FileInfo, error) {
	if e.Size == nil || *e.Size < 0 {
		return FileInfo{}, fmt.Errorf("index entry without a size")
	}
	fi := FileInfo{Path: rel, Size: *e.Size}
	if e.MTime != "" {
		t, err := http.ParseTime(e.MTime)
		if err != nil {
			return FileInfo{}, fmt.Errorf("index entry with unparseable mtime %q", e.MTime)
		}
		fi.ModTime = t.UTC()
	}
	return fi, nil
}

// readIndex makes one attempt at GETting and decoding a directory index.
func (h *httpOrigin) readIndex(ctx context.Context, dir string) ([]indexEntry, error) {
	x, err := h.send(ctx, http.MethodGet, dir, true, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, err
	}
	defer x.close()
	if x.resp.StatusCode != http.StatusOK {
		return nil, statusFailure(x.resp)
	}
	if ct := x.resp.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
		return nil, permanent(ErrBadResponse, fmt.Sprintf("the directory listing is not JSON (Content-Type %q); %s", ct, autoindexHint), nil)
	}
	body := &watchedReader{r: io.LimitReader(x.resp.Body, maxIndexBytes), onRead: func() { x.wd.reset(h.retry.StallTimeout) }}
	var ents []indexEntry
	if err := json.NewDecoder(body).Decode(&ents); err != nil {
		if body.err != nil && body.err != io.EOF {
			return nil, classifyNet(body.err, x.wd)
		}
		return nil, permanent(ErrBadResponse, "the directory listing is not nginx's JSON autoindex; "+autoindexHint, err)
	}
	return ents, nil
}

// watchedReader reports progress and remembers the underlying read error,
// to tell a broken connection (worth a retry) from bad JSON (not).
type watchedReader struct {
	r      io.Reader
	onRead func()
	err    error
}

func (w *watchedReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.onRead()
	}
	if err != nil {
		w.err = err
	}
	return n, err
}
