package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// httpOrigin is a prefix on an HTTP(S) server. It is read-only: it does not
// implement Writer.
type httpOrigin struct {
	base
	o *Opener
}

var _ Origin = (*httpOrigin)(nil)

// newHTTPClient builds the client every HTTP origin shares. It has no
// overall timeout: the attempt and stall watchdogs bound each phase, since
// a large range may rightly take long.
func (o *Opener) newHTTPClient() *http.Client {
	rt := o.cfg.HTTP.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = o.cfg.MaxConcurrent
		rt = t
	}
	return &http.Client{Transport: rt, CheckRedirect: o.checkRedirect}
}

// checkRedirect follows a redirect only to an allowed origin, so a server
// cannot lead the daemon somewhere the operator did not allow.
func (o *Opener) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return permanent(ErrBadResponse, "more than 10 redirects", nil)
	}
	u := *req.URL
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	l, err := parseLocation(u.String())
	if err != nil || !o.allow.allows(l) {
		return permanent(ErrNotAllowed, "redirected to "+u.String()+", which is not on the allowlist; "+allowHint, nil)
	}
	return nil
}

// urlHost is host[:port] for request URLs, default ports left out (some
// servers and signatures dislike "host:443").
func (l location) urlHost() string {
	host, port, _ := net.SplitHostPort(l.host)
	if port == defaultPorts[l.scheme] {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return l.host
}

// objectURL is the URL of rel (a file, or with dir a directory listing);
// every segment is percent-escaped, so spaces and non-ASCII names work.
func (h *httpOrigin) objectURL(rel string, dir bool) string {
	p := path.Join(h.loc.path, rel)
	if dir && !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return (&url.URL{Scheme: h.loc.scheme, Host: h.loc.urlHost(), Path: p}).String()
}

// exchange is one response with the slot and watchdog its request holds.
type exchange struct {
	resp    *http.Response
	wd      *watchdog
	release func()
}

// close drains a little (so the connection can be reused) and frees all.
func (x *exchange) close() {
	_, _ = io.CopyN(io.Discard, x.resp.Body, 4<<10)
	x.resp.Body.Close()
	x.wd.stop()
	x.release()
}

// send makes one attempt: take a slot, send, wait for headers within
// AttemptTimeout; then the watchdog switches to StallTimeout for the body.
func (h *httpOrigin) send(ctx context.Context, method, rel string, dir bool, hdr http.Header) (*exchange, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	actx, wd := startWatchdog(ctx, h.retry.AttemptTimeout)
	req, err := http.NewRequestWithContext(actx, method, h.objectURL(rel, dir), nil)
	if err != nil {
		wd.stop()
		release()
		return nil, permanent(ErrBadResponse, "build request", err)
	}
	h.setHeaders(req, hdr)
	resp, err := h.o.httpc.Do(req)
	if err != nil {
		wd.stop()
		release()
		return nil, classifyHTTP(err, wd)
	}
	wd.reset(h.retry.StallTimeout)
	return &exchange{resp: resp, wd: wd, release: release}, nil
}

func (h *httpOrigin) setHeaders(req *http.Request, hdr http.Header) {
	req.Header.Set("User-Agent", "meshcache")
	for k, vs := range h.o.cfg.HTTP.Header {
		req.Header[k] = vs
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	if h.loc.user != nil {
		pw, _ := h.loc.user.Password()
		req.SetBasicAuth(h.loc.user.Username(), pw)
	}
}

// classifyHTTP maps a failed round trip; a refused redirect keeps its own
// classification.
func classifyHTTP(err error, wd *watchdog) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return classifyNet(err, wd)
}

// statusFailure maps an unexpected status.
func statusFailure(resp *http.Response) *failure {
	s, st := resp.StatusCode, resp.Status
	switch {
	case s == http.StatusNotFound || s == http.StatusGone:
		return permanent(ErrNotFound, st, nil)
	case s == http.StatusPreconditionFailed:
		return permanent(ErrChanged, "the ETag recorded at publish no longer matches ("+st+")", nil)
	case s == http.StatusRequestedRangeNotSatisfiable:
		return permanent(ErrChanged, "range not satisfiable: the object is smaller than at publish ("+st+")", nil)
	case s == http.StatusRequestTimeout || s == http.StatusGatewayTimeout:
		return transient(ErrTimeout, st, nil)
	case s == http.StatusTooManyRequests || s >= 500:
		return transient(ErrUnavailable, st, nil)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return permanent(ErrUnavailable, st+": access denied; check the credentials configured for this origin", nil)
	case s >= 300 && s < 400:
		return permanent(ErrBadResponse, st+": redirect not followed", nil)
	}
	return permanent(ErrBadResponse, "unexpected status "+st, nil)
}

// Stat HEADs one file.
func (h *httpOrigin) Stat(ctx context.Context, rel string) (FileInfo, error) {
	if err := checkRel(rel); err != nil {
		return FileInfo{}, h.fail(ErrNotAllowed, "stat", rel, err.Error(), nil)
	}
	var fi FileInfo
	err := h.do(ctx, "stat", rel, func(ctx context.Context) error {
		x, err := h.send(ctx, http.MethodHead, rel, false, nil)
		if err != nil {
			return err
		}
		defer x.close()
		if x.resp.StatusCode != http.StatusOK {
			return statusFailure(x.resp)
		}
		if x.resp.ContentLength < 0 {
			return permanent(ErrBadResponse, "no Content-Length", nil)
		}
		fi, err = headerInfo(rel, x.resp.Header, x.resp.ContentLength)
		return err
	})
	return fi, err
}

// headerInfo reads a version from response headers: the size given,
// Last-Modified, and the ETag when it is strong.
func headerInfo(rel string, h http.Header, size int64) (FileInfo, error) {
	fi := FileInfo{Path: rel, Size: size, ETag: strongETag(h.Get("ETag"))}
	if lm := h.Get("Last-Modified"); lm != "" {
		t, err := http.ParseTime(lm)
		if err != nil {
			return fi, permanent(ErrBadResponse, fmt.Sprintf("unparseable Last-Modified %q", lm), err)
		}
		fi.ModTime = t.UTC()
	}
	return fi, nil
}

// strongETag returns etag, or "" for a weak one: a weak ETag may stay the
// same when bytes change.
func strongETag(etag string) string {
	etag = strings.TrimSpace(etag)
	if strings.HasPrefix(etag, "W/") {
		return ""
	}
	return etag
}
