package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ipfs/go-cid"
)

// fsURL is the route of path in the dataset root, each segment escaped.
func fsURL(root cid.Cid, path string) string {
	var b strings.Builder
	b.WriteString("/v1/fs/")
	b.WriteString(Canonical(root))
	for seg := range strings.SplitSeq(strings.Trim(path, "/"), "/") {
		if seg != "" {
			b.WriteByte('/')
			b.WriteString(url.PathEscape(seg))
		}
	}
	return b.String()
}

// Open returns the bytes of the file at path in the dataset root.
func (c *Client) Open(ctx context.Context, root cid.Cid, path string) (io.ReadCloser, error) {
	return c.OpenRange(ctx, root, path, 0, -1)
}

// OpenRange returns n bytes of the file at path from offset off, or every
// byte from off when n < 0. A range past the end is an *Error with code
// range_not_satisfiable; a range reaching past the end is cut at the end.
func (c *Client) OpenRange(ctx context.Context, root cid.Cid, path string, off, n int64) (io.ReadCloser, error) {
	if off < 0 {
		return nil, fmt.Errorf("open %s: negative offset %d", path, off)
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	hdr := http.Header{}
	switch {
	case n > 0:
		hdr.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
	case off > 0:
		hdr.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	resp, err := c.do(ctx, http.MethodGet, fsURL(root, path), nil, hdr)
	if err != nil {
		return nil, err
	}
	if resp.Header.Get("X-Meshcache-Type") == string(TypeDir) {
		resp.Body.Close()
		return nil, &Error{Status: http.StatusBadRequest, Code: CodeIsDir, Message: fmt.Sprintf("%s in %s is a directory", path, Canonical(root))}
	}
	if resp.StatusCode == http.StatusOK && off > 0 {
		// The daemon answered everything (a proxy in between may drop Range).
		if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
			resp.Body.Close()
			return nil, fmt.Errorf("open %s: skip to offset %d: %w", path, off, err)
		}
	}
	if resp.StatusCode == http.StatusOK && n > 0 {
		return struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, n), resp.Body}, nil
	}
	return resp.Body, nil
}

// ReadFile returns the whole file at path.
func (c *Client) ReadFile(ctx context.Context, root cid.Cid, path string) ([]byte, error) {
	rc, err := c.Open(ctx, root, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", path, Canonical(root), err)
	}
	return b, nil
}

// Stat describes the file or directory at path, without its content.
func (c *Client) Stat(ctx context.Context, root cid.Cid, path string) (FileInfo, error) {
	u := fsURL(root, path)
	resp, err := c.do(ctx, http.MethodHead, u, nil, nil)
	if err != nil {
		return FileInfo{}, c.headError(ctx, u, err)
	}
	resp.Body.Close()
	fi := FileInfo{Path: strings.Trim(path, "/"), Type: EntryType(resp.Header.Get("X-Meshcache-Type"))}
	if etag := strings.Trim(resp.Header.Get("ETag"), `"`); etag != "" {
		parsed, err := cid.Decode(etag)
		if err != nil {
			return FileInfo{}, fmt.Errorf("stat %s: daemon sent ETag %q, not a CID: %w", path, etag, err)
		}
		fi.CID = CID(parsed)
	}
	if fi.Type == TypeFile {
		fi.Size = resp.ContentLength
	}
	return fi, nil
}

// headError recovers the daemon's message for a failed HEAD (whose answer
// has no body) by asking again with GET; the GET fails the same way.
func (c *Client) headError(ctx context.Context, u string, err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	resp, gerr := c.do(ctx, http.MethodGet, u, nil, http.Header{"Range": {"bytes=0-0"}})
	if gerr == nil {
		resp.Body.Close()
		return e
	}
	return gerr
}

// ReadDir lists the directory at path.
func (c *Client) ReadDir(ctx context.Context, root cid.Cid, path string) (Dir, error) {
	// Range makes a file answer one byte instead of all of them; a
	// directory's listing ignores it.
	notDir := &Error{Status: http.StatusBadRequest, Code: CodeNotDir, Message: fmt.Sprintf("%s in %s is not a directory", path, Canonical(root))}
	resp, err := c.do(ctx, http.MethodGet, fsURL(root, path), nil, http.Header{"Range": {"bytes=0-0"}})
	var e *Error
	if errors.As(err, &e) && e.Status == http.StatusRequestedRangeNotSatisfiable {
		return Dir{}, notDir // an empty file
	}
	if err != nil {
		return Dir{}, err
	}
	defer resp.Body.Close()
	if t := resp.Header.Get("X-Meshcache-Type"); t != string(TypeDir) {
		return Dir{}, notDir
	}
	var d Dir
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return Dir{}, fmt.Errorf("list %s in %s: decode answer: %w", path, Canonical(root), err)
	}
	return d, nil
}

// Block returns the raw bytes of one block.
func (c *Client) Block(ctx context.Context, b cid.Cid) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v1/blocks/"+Canonical(b), nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	const maxBlock = 2 << 20
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBlock+1))
	if err != nil {
		return nil, fmt.Errorf("read block %s: %w", Canonical(b), err)
	}
	if len(data) > maxBlock {
		return nil, fmt.Errorf("read block %s: larger than %d bytes", Canonical(b), maxBlock)
	}
	return data, nil
}
