package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"
)

// immutable is the Cache-Control of content addressed by its CID.
const immutable = "public, max-age=31536000, immutable"

func (h *Handler) getFS(w http.ResponseWriter, r *http.Request) error {
	root, err := pathCID(r)
	if err != nil {
		return err
	}
	if t := root.Type(); t != cid.DagProtobuf && t != cid.Raw {
		return Errorf(http.StatusBadRequest, CodeBadCID,
			"CID %s has codec 0x%x; a dataset root is dag-pb (0x70, UnixFS) or raw (0x55)", Canonical(root), t)
	}
	// ServeHTTP has checked the path (no '.', '..' or empty segments).
	p := strings.TrimSuffix(r.PathValue("path"), "/")
	node, err := h.backend.Open(r.Context(), root, p)
	if err != nil {
		return err
	}
	switch {
	case node.File != nil:
		defer node.File.Close()
		return h.serveFile(w, r, node.File, TypeFile)
	case node.Dir != nil:
		return serveDir(w, r, node.Dir, p)
	}
	return fmt.Errorf("backend opened %s/%s as neither a file nor a directory", Canonical(root), p)
}

func (h *Handler) getBlock(w http.ResponseWriter, r *http.Request) error {
	c, err := pathCID(r)
	if err != nil {
		return err
	}
	f, err := h.backend.Block(r.Context(), c)
	if err != nil {
		return err
	}
	defer f.Close()
	return h.serveFile(w, r, f, "block")
}

func serveDir(w http.ResponseWriter, r *http.Request, d *Dir, p string) error {
	out := *d
	out.Path = p
	if out.Entries == nil {
		out.Entries = []DirEntry{}
	}
	hdr := w.Header()
	hdr.Set("X-Meshcache-Type", string(TypeDir))
	if !out.CID.IsZero() {
		etag := `"` + out.CID.String() + `"`
		hdr.Set("ETag", etag)
		hdr.Set("Cache-Control", immutable)
		if noneMatch(r, etag) {
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	writeJSON(w, r, http.StatusOK, out)
	return nil
}

// serveFile answers f's bytes: the whole of them (200), one range (206) or
// a 416, with HEAD getting the same headers and no body.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, f File, kind EntryType) error {
	size := f.Size()
	etag := `"` + Canonical(f.CID()) + `"`
	hdr := w.Header()
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", immutable)
	hdr.Set("Accept-Ranges", "bytes")
	hdr.Set("X-Meshcache-Type", string(kind))
	if noneMatch(r, etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	ranges, err := requestRanges(r, etag, size)
	if err != nil {
		hdr.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		return err
	}
	off, n, status := int64(0), size, http.StatusOK
	// Several ranges are answered with the whole content (RFC 9110 lets a
	// server ignore Range); see docs/api.md.
	if len(ranges) == 1 {
		off, n, status = ranges[0].start, ranges[0].length, http.StatusPartialContent
		hdr.Set("Content-Range", ranges[0].contentRange(size))
	}
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.FormatInt(n, 10))
	if r.Method == http.MethodHead || n == 0 {
		w.WriteHeader(status)
		return nil
	}
	return h.streamRange(w, r, f, status, off, n)
}

// streamRange writes the bytes. An error before the first byte is still an
// ordinary JSON error; after it the status line is out, and the only honest
// signal left is a connection cut short of Content-Length.
func (h *Handler) streamRange(w http.ResponseWriter, r *http.Request, f File, status int, off, n int64) error {
	rw := &rangeWriter{w: w, status: status}
	_, err := f.WriteRange(r.Context(), rw, off, n)
	h.bytesServed.Add(rw.n)
	if err == nil && rw.n != n {
		err = fmt.Errorf("read %s: %d of %d bytes from offset %d came back", Canonical(f.CID()), rw.n, n, off)
	}
	if err == nil {
		return nil
	}
	if !rw.started {
		return err
	}
	if r.Context().Err() == nil {
		h.log.Warn("file read failed after the response started; cutting the connection", "path", r.URL.Path, "sent", rw.n, "of", n, "err", err)
	}
	panic(http.ErrAbortHandler)
}

// requestRanges applies Range unless If-Range names other content.
func requestRanges(r *http.Request, etag string, size int64) ([]byteRange, error) {
	spec := r.Header.Get("Range")
	if spec == "" {
		return nil, nil
	}
	if ir := r.Header.Get("If-Range"); ir != "" && ir != etag {
		return nil, nil
	}
	return parseRange(spec, size)
}

// noneMatch reports whether If-None-Match names etag (weak comparison).
func noneMatch(r *http.Request, etag string) bool {
	inm := r.Header.Get("If-None-Match")
	if inm == "" {
		return false
	}
	for tag := range strings.SplitSeq(inm, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == etag {
			return true
		}
	}
	return false
}

// rangeWriter delays the status line until the first byte, so that a
// failure before it can still be answered properly, and keeps the
// ResponseWriter's ReadFrom reachable for sendfile.
type rangeWriter struct {
	w       http.ResponseWriter
	status  int
	started bool
	n       int64
}

func (rw *rangeWriter) start() {
	if !rw.started {
		rw.started = true
		rw.w.WriteHeader(rw.status)
	}
}

func (rw *rangeWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	rw.start()
	n, err := rw.w.Write(p)
	rw.n += int64(n)
	return n, err
}

// ReadFrom reads a first piece of src before committing the status line,
// so that a source failing at once still gets a proper error answer, and
// hands the rest to the ResponseWriter's ReadFrom (sendfile on our server).
func (rw *rangeWriter) ReadFrom(src io.Reader) (int64, error) {
	var first int64
	if !rw.started {
		buf := make([]byte, 512)
		k, err := io.ReadFull(src, buf)
		if _, werr := rw.Write(buf[:k]); werr != nil {
			return 0, werr
		}
		first = int64(k)
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return first, nil
		case err != nil:
			return first, err
		}
	}
	var (
		n   int64
		err error
	)
	if rf, ok := rw.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{rw.w}, src)
	}
	rw.n += n
	return first + n, err
}
