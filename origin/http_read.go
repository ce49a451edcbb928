package origin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ReadRange GETs bytes off..off+length-1 with Range (and If-Match when want
// has an ETag), checks the response's version against want and its
// Content-Range against the request, and returns a reader of exactly length
// bytes. A server that ignores Range (200 with the whole object) is read
// past the offset when that is at most HTTP.MaxSkip bytes, and refused
// with ErrBadResponse beyond; a body that ends early is ErrBadResponse.
func (h *httpOrigin) ReadRange(ctx context.Context, rel string, off, length int64, want FileInfo) (io.ReadCloser, error) {
	if err := checkRel(rel); err != nil {
		return nil, h.fail(ErrNotAllowed, "read", rel, err.Error(), nil)
	}
	if err := checkRange(rel, off, length, want); err != nil {
		return nil, err
	}
	if length == 0 {
		return readEmpty(ctx, &h.base, h.Stat, rel, want)
	}
	var rr *rangeReader
	err := h.do(ctx, "read", rel, func(ctx context.Context) error {
		hdr := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", off, off+length-1)}}
		if want.ETag != "" {
			hdr.Set("If-Match", want.ETag)
		}
		x, err := h.send(ctx, http.MethodGet, rel, false, hdr)
		if err != nil {
			return err
		}
		skip, f := h.checkRangeResponse(x.resp, off, length, want)
		if f != nil {
			x.close()
			return f
		}
		rr = h.rangeReader(x, rel, skip, length)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rr, nil
}

// readEmpty serves a zero-length read: no bytes, but the version is still
// checked, so a changed object is reported the same way.
func readEmpty(ctx context.Context, b *base, stat func(context.Context, string) (FileInfo, error), rel string, want FileInfo) (io.ReadCloser, error) {
	now, err := stat(ctx, rel)
	if err != nil {
		return nil, err
	}
	if d := changes(want, now); d != "" {
		return nil, b.fail(ErrChanged, "read", rel, d, nil)
	}
	return io.NopCloser(strings.NewReader("")), nil
}

// checkRangeResponse validates a ranged GET's response and returns how
// many bytes to skip to reach off.
func (h *httpOrigin) checkRangeResponse(resp *http.Response, off, length int64, want FileInfo) (int64, *failure) {
	var skip int64
	var now FileInfo
	switch resp.StatusCode {
	case http.StatusPartialContent:
		cr := resp.Header.Get("Content-Range")
		start, end, total, ok := parseContentRange(cr)
		if !ok {
			return 0, permanent(ErrBadResponse, fmt.Sprintf("unparseable Content-Range %q", cr), nil)
		}
		now.Size = total
		if d := h.versionChange(resp, &now, want); d != nil {
			return 0, d
		}
		if start != off || end != off+length-1 || (resp.ContentLength >= 0 && resp.ContentLength != length) {
			return 0, permanent(ErrBadResponse, fmt.Sprintf("asked for bytes %d-%d, got Content-Range %q with %d bytes",
				off, off+length-1, cr, resp.ContentLength), nil)
		}
	case http.StatusOK:
		if resp.ContentLength < 0 {
			return 0, permanent(ErrBadResponse, "the server ignored Range and sent no Content-Length", nil)
		}
		now.Size = resp.ContentLength
		if d := h.versionChange(resp, &now, want); d != nil {
			return 0, d
		}
		if off > 0 && off > h.o.cfg.HTTP.MaxSkip {
			return 0, permanent(ErrBadResponse, fmt.Sprintf("the server ignores Range requests (200 with the whole object); "+
				"reaching offset %d would mean reading and discarding more than %d bytes", off, h.o.cfg.HTTP.MaxSkip), nil)
		}
		if off > 0 || length != now.Size {
			h.o.warnOnce("range:"+h.loc.server(), "origin server ignores Range requests; reading whole objects up to the offset",
				"origin", h.url, "max_skip", h.o.cfg.HTTP.MaxSkip)
		}
		skip = off
	default:
		return 0, statusFailure(resp)
	}
	return skip, nil
}

// versionChange fills now from the response headers and compares it to
// the version at publish.
func (h *httpOrigin) versionChange(resp *http.Response, now *FileInfo, want FileInfo) *failure {
	fi, err := headerInfo(want.Path, resp.Header, now.Size)
	if err != nil {
		return asFailure(err)
	}
	*now = fi
	if d := changes(want, fi); d != "" {
		return permanent(ErrChanged, d, nil)
	}
	return nil
}

// parseContentRange parses "bytes START-END/TOTAL" (TOTAL must be known).
func parseContentRange(s string) (start, end, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	a, b, found2 := strings.Cut(rng, "-")
	if !found || !found2 {
		return 0, 0, 0, false
	}
	var err1, err2, err3 error
	start, err1 = strconv.ParseInt(a, 10, 64)
	end, err2 = strconv.ParseInt(b, 10, 64)
	total, err3 = strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || start < 0 || end < start || total <= end {
		return 0, 0, 0, false
	}
	return start, end, total, true
}

// rangeReader wraps a validated response body.
func (h *httpOrigin) rangeReader(x *exchange, rel string, skip, length int64) *rangeReader {
	return &rangeReader{
		body: x.resp.Body, skip: skip, left: length, want: length,
		wd: x.wd, stall: func() { x.wd.reset(h.retry.StallTimeout) },
		count: h.read,
		done:  func() { x.wd.stop(); x.release() },
		short: func(got, want int64) error {
			return h.fail(ErrBadResponse, "read", rel, fmt.Sprintf("body ended after %d of %d bytes", got, want), nil)
		},
		fail: func(err error) error { return h.bodyFailure(rel, x.wd, err) },
	}
}
