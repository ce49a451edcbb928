package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// httpCase is one row of the handler tables. Each row runs twice: through
// the handler in-process and over a real unix socket.
type httpCase struct {
	name string
	// req builds the request from the fixture.
	req        func(f *fixture) request
	setup      func(f *fixture)
	peer       *Peer // in-process only: the connection's peer (default root)
	noPeer     bool  // in-process only: no peer credentials at all
	inProcess  bool  // run only in-process (peers other than root)
	wantStatus int
	wantCode   string            // for error answers
	wantMsg    string            // substring of the error message
	wantHeader map[string]string // exact header values; "-" means absent
	// wantBody returns the exact body expected (nil: not checked).
	wantBody func(f *fixture) []byte
	check    func(t *testing.T, f *fixture, res result)
}

var rootPeer = Peer{PID: 1, UID: 0, GID: 0, GroupsFrom: groupsFromSockopt}

func runCases(t *testing.T, cases []httpCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name+"/in-process", func(t *testing.T) {
			f := newFixture()
			if tc.setup != nil {
				tc.setup(f)
			}
			peer := &rootPeer
			if tc.peer != nil {
				peer = tc.peer
			}
			if tc.noPeer {
				peer = nil
			}
			res := serveRecorder(newTestHandler(t, f.b), tc.req(f), peer)
			tc.verify(t, f, res)
		})
		if tc.inProcess {
			continue
		}
		t.Run(tc.name+"/socket", func(t *testing.T) {
			f := newFixture()
			if tc.setup != nil {
				tc.setup(f)
			}
			path, _ := startServer(t, newTestHandler(t, f.b), ServerConfig{})
			res := serveSocket(t, socketClient(path), tc.req(f))
			tc.verify(t, f, res)
			if opened, closed := f.b.opened.Load(), f.b.closed.Load(); opened != closed {
				t.Errorf("backend files opened %d, closed %d", opened, closed)
			}
		})
	}
}

func (tc httpCase) verify(t *testing.T, f *fixture, res result) {
	t.Helper()
	if res.err != nil {
		t.Fatalf("reading body: %v", res.err)
	}
	if res.status != tc.wantStatus {
		t.Fatalf("status = %d, want %d; body %.300q", res.status, tc.wantStatus, res.body)
	}
	for k, want := range tc.wantHeader {
		got, present := res.header.Get(k), len(res.header.Values(k)) > 0
		if want == "-" && present {
			t.Errorf("header %s = %q, want it absent", k, got)
		} else if want != "-" && got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	isHead := tc.req(f).method == http.MethodHead
	if isHead && len(res.body) != 0 {
		t.Errorf("HEAD answered a %d-byte body", len(res.body))
	}
	if res.status >= 400 && !isHead {
		e := checkErrorBody(t, res, tc.wantCode)
		if !strings.Contains(e.Message, tc.wantMsg) {
			t.Errorf("error message %q does not contain %q", e.Message, tc.wantMsg)
		}
	}
	if tc.wantBody != nil {
		if want := tc.wantBody(f); !bytes.Equal(res.body, want) {
			t.Errorf("body = %d bytes %.80q…, want %d bytes %.80q…", len(res.body), res.body, len(want), want)
		}
	}
	if tc.check != nil {
		tc.check(t, f, res)
	}
}

// get builds a GET (or another method) of a path relative to the dataset.
func fsReq(method, p string, hdr ...string) func(f *fixture) request {
	return func(f *fixture) request {
		r := request{method: method, target: "/v1/fs/" + f.root.String() + p, header: map[string]string{}}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.header[hdr[i]] = strings.ReplaceAll(hdr[i+1], "ETAG", `"`+Canonical(f.b.datasets[f.root].files["a.txt"].CID())+`"`)
		}
		return r
	}
}

func fileBytes(p string, from, to int) func(f *fixture) []byte {
	return func(f *fixture) []byte {
		d := f.files[p]
		if to < 0 {
			to = len(d)
		}
		return d[from:to]
	}
}

func contentRange(p string, from, to int) func(t *testing.T, f *fixture, res result) {
	return func(t *testing.T, f *fixture, res result) {
		want := fmt.Sprintf("bytes %d-%d/%d", from, to, len(f.files[p]))
		if got := res.header.Get("Content-Range"); got != want {
			t.Errorf("Content-Range = %q, want %q", got, want)
		}
	}
}

func TestHandlerFiles(t *testing.T) {
	const size = 10007 // a.txt
	fileHeaders := map[string]string{
		"Content-Type":   "application/octet-stream",
		"Content-Length": fmt.Sprint(size),
		"Cache-Control":  immutable,
		"Accept-Ranges":  "bytes",
		"Content-Range":  "-",
	}
	cases := []httpCase{
		{name: "whole file", req: fsReq("GET", "/a.txt"), wantStatus: 200, wantHeader: fileHeaders,
			wantBody: fileBytes("a.txt", 0, -1), check: checkETag("a.txt")},
		{name: "HEAD file", req: fsReq("HEAD", "/a.txt"), wantStatus: 200, wantHeader: fileHeaders, check: checkETag("a.txt")},
		{name: "range", req: fsReq("GET", "/a.txt", "Range", "bytes=5-9"), wantStatus: 206,
			wantHeader: map[string]string{"Content-Length": "5", "Content-Range": "bytes 5-9/10007"}, wantBody: fileBytes("a.txt", 5, 10)},
		{name: "HEAD range", req: fsReq("HEAD", "/a.txt", "Range", "bytes=5-9"), wantStatus: 206,
			wantHeader: map[string]string{"Content-Length": "5", "Content-Range": "bytes 5-9/10007"}},
		{name: "range across pieces", req: fsReq("GET", "/a.txt", "Range", "bytes=999-2000"), wantStatus: 206,
			wantBody: fileBytes("a.txt", 999, 2001), check: contentRange("a.txt", 999, 2000)},
		{name: "suffix range", req: fsReq("GET", "/a.txt", "Range", "bytes=-100"), wantStatus: 206,
			wantBody: fileBytes("a.txt", size-100, size), check: contentRange("a.txt", size-100, size-1)},
		{name: "suffix longer than file", req: fsReq("GET", "/a.txt", "Range", "bytes=-20000"), wantStatus: 206,
			wantBody: fileBytes("a.txt", 0, size), check: contentRange("a.txt", 0, size-1)},
		{name: "open range", req: fsReq("GET", "/a.txt", "Range", "bytes=10000-"), wantStatus: 206,
			wantBody: fileBytes("a.txt", 10000, size), check: contentRange("a.txt", 10000, size-1)},
		{name: "end past size is clamped", req: fsReq("GET", "/a.txt", "Range", "bytes=10000-99999999999999999999999"), wantStatus: 206,
			wantBody: fileBytes("a.txt", 10000, size), check: contentRange("a.txt", 10000, size-1)},
		{name: "range at size", req: fsReq("GET", "/a.txt", "Range", "bytes=10007-"), wantStatus: 416,
			wantCode: CodeRangeNotSatisfiable, wantMsg: "10007 bytes", wantHeader: map[string]string{"Content-Range": "bytes */10007", "ETag": "-"}},
		{name: "HEAD range at size", req: fsReq("HEAD", "/a.txt", "Range", "bytes=10007-"), wantStatus: 416,
			wantHeader: map[string]string{"Content-Range": "bytes */10007"}},
		{name: "zero suffix", req: fsReq("GET", "/a.txt", "Range", "bytes=-0"), wantStatus: 416, wantCode: CodeRangeNotSatisfiable},
		{name: "backwards range", req: fsReq("GET", "/a.txt", "Range", "bytes=9-5"), wantStatus: 416,
			wantCode: CodeRangeNotSatisfiable, wantMsg: "ends before it starts"},
		{name: "garbage range", req: fsReq("GET", "/a.txt", "Range", "bytes=abc"), wantStatus: 416, wantCode: CodeRangeNotSatisfiable},
		{name: "negative start", req: fsReq("GET", "/a.txt", "Range", "bytes=--5"), wantStatus: 416, wantCode: CodeRangeNotSatisfiable},
		{name: "other unit ignored", req: fsReq("GET", "/a.txt", "Range", "items=0-5"), wantStatus: 200, wantBody: fileBytes("a.txt", 0, -1)},
		{name: "multi-range answered whole", req: fsReq("GET", "/a.txt", "Range", "bytes=0-1, 5-6"), wantStatus: 200,
			wantHeader: fileHeaders, wantBody: fileBytes("a.txt", 0, -1)},
		{name: "multi-range with one satisfiable", req: fsReq("GET", "/a.txt", "Range", "bytes=20000-30000,0-1"), wantStatus: 206,
			wantBody: fileBytes("a.txt", 0, 2), check: contentRange("a.txt", 0, 1)},
		{name: "if-none-match", req: fsReq("GET", "/a.txt", "If-None-Match", "W/ETAG"), wantStatus: 304,
			wantHeader: map[string]string{"Content-Length": "-"}, wantBody: func(*fixture) []byte { return []byte{} }},
		{name: "if-none-match other", req: fsReq("GET", "/a.txt", "If-None-Match", `"x"`), wantStatus: 200, wantBody: fileBytes("a.txt", 0, -1)},
		{name: "if-range matching", req: fsReq("GET", "/a.txt", "Range", "bytes=1-2", "If-Range", "ETAG"), wantStatus: 206, wantBody: fileBytes("a.txt", 1, 3)},
		{name: "if-range other", req: fsReq("GET", "/a.txt", "Range", "bytes=1-2", "If-Range", `"other"`), wantStatus: 200, wantBody: fileBytes("a.txt", 0, -1)},
		{name: "empty file", req: fsReq("GET", "/dir/sub/c"), wantStatus: 200,
			wantHeader: map[string]string{"Content-Length": "0"}, wantBody: fileBytes("dir/sub/c", 0, 0)},
		{name: "empty file open range", req: fsReq("GET", "/dir/sub/c", "Range", "bytes=0-"), wantStatus: 416,
			wantHeader: map[string]string{"Content-Range": "bytes */0"}},
		{name: "empty file suffix", req: fsReq("GET", "/dir/sub/c", "Range", "bytes=-5"), wantStatus: 200,
			wantHeader: map[string]string{"Content-Length": "0"}},
		{name: "escaped name", req: fsReq("GET", "/with%20space.txt"), wantStatus: 200, wantBody: fileBytes("with space.txt", 0, -1)},
		{name: "backend error before first byte", req: fsReq("GET", "/broken-early"), wantStatus: 502,
			wantCode: CodeOriginUnavailable, wantMsg: "s3://bucket/data", wantHeader: map[string]string{"ETag": "-", "Content-Range": "-"}},
		{name: "origin down at open", req: fsReq("GET", "/origin-down"), wantStatus: 502,
			wantCode: CodeOriginUnavailable, wantMsg: "origin https://origin.example/data: connection refused"},
		{name: "panic", req: fsReq("GET", "/panic"), wantStatus: 500, wantCode: CodeInternal, wantMsg: "test backend panics"},
	}
	runCases(t, cases)
}

func checkETag(p string) func(t *testing.T, f *fixture, res result) {
	return func(t *testing.T, f *fixture, res result) {
		want := `"` + Canonical(f.b.datasets[f.root].files[p].CID()) + `"`
		if got := res.header.Get("ETag"); got != want {
			t.Errorf("ETag = %q, want %q", got, want)
		}
	}
}
