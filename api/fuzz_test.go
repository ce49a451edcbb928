package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"strings"
	"testing"
)

func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=5-", "bytes=1-2,4-5", "bytes=9-5", "items=1-2",
		"bytes=,,", "bytes=99999999999999999999-", "bytes= 1 - 2", "bytes=-0", "=", "bytes=0-1,-1,5-"} {
		f.Add(s, int64(10))
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		ranges, err := parseRange(header, size)
		if err != nil {
			if e := asError(err); e.Status != http.StatusRequestedRangeNotSatisfiable || e.Code != CodeRangeNotSatisfiable {
				t.Fatalf("error %d %s, want 416", e.Status, e.Code)
			}
			if ranges != nil {
				t.Fatal("ranges with an error")
			}
			return
		}
		if len(ranges) > maxRangeSpecs {
			t.Fatalf("%d ranges", len(ranges))
		}
		for _, r := range ranges {
			if r.start < 0 || r.length < 1 || r.start+r.length > size || r.start+r.length < r.start {
				t.Fatalf("range %+v outside a %d-byte content", r, size)
			}
		}
		// A single well-formed range must round-trip through Content-Range.
		if len(ranges) == 1 {
			again, err := parseRange("bytes="+strings.TrimPrefix(strings.Split(ranges[0].contentRange(size), "/")[0], "bytes "), size)
			if err != nil || len(again) != 1 || again[0] != ranges[0] {
				t.Fatalf("Content-Range %q does not parse back to %+v: %v %v", ranges[0].contentRange(size), ranges[0], again, err)
			}
		}
	})
}

func FuzzParseCID(f *testing.F) {
	for _, s := range []string{"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
		"QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG", "bafkqaaa", "f01701220", "zb2rh", "", "bafy!", "mAXASI"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCID(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != CodeBadCID || !strings.HasPrefix(e.Message, "malformed CID") {
				t.Fatalf("error %v is not a 400 bad_cid", err)
			}
			return
		}
		canon := Canonical(c)
		back, err := ParseCID(canon)
		if err != nil || back.Hash().HexString() != c.Hash().HexString() || back.Type() != c.Type() || back.Version() != 1 {
			t.Fatalf("canonical %q of %q does not parse back to the same CID: %v", canon, s, err)
		}
		var j CID
		b, _ := json.Marshal(CID(c))
		if err := json.Unmarshal(b, &j); err != nil || j.String() != canon {
			t.Fatalf("JSON round trip of %q: %s → %v, %v", s, b, j, err)
		}
	})
}

func FuzzCheckURLPath(f *testing.F) {
	for _, s := range []string{"/", "/v1/fs/x/a/b", "/v1/fs/x/../y", "//", "/a/./b", "/a/", "/a//", "/a\x00", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if checkURLPath(p) != nil {
			return
		}
		trimmed := strings.TrimSuffix(p, "/")
		if trimmed == "" {
			trimmed = "/"
		}
		if path.Clean(trimmed) != trimmed {
			t.Fatalf("accepted %q, which is not clean (%q)", p, path.Clean(trimmed))
		}
		for _, seg := range strings.Split(p, "/") {
			if seg == ".." || seg == "." {
				t.Fatalf("accepted %q with a %q segment", p, seg)
			}
		}
	})
}

// FuzzHandler feeds raw requests to the handler: none may crash it, and
// every error answer is the API's JSON error.
func FuzzHandler(f *testing.F) {
	fx := newFixture()
	root := fx.root.String()
	for _, s := range []string{
		"GET /v1/fs/" + root + "/a.txt HTTP/1.1\r\nHost: m\r\nRange: bytes=1-5\r\n\r\n",
		"HEAD /v1/fs/" + root + "/dir HTTP/1.1\r\nHost: m\r\n\r\n",
		"POST /v1/pins HTTP/1.1\r\nHost: m\r\nContent-Length: 14\r\n\r\n{\"cid\":\"bafy\"}",
		"POST /v1/datasets HTTP/1.1\r\nHost: m\r\nContent-Length: 23\r\n\r\n{\"origin\":\"s3://b/p\"} ",
		"DELETE /v1/pins/" + root + " HTTP/1.1\r\nHost: m\r\n\r\n",
		"GET /v1/datasets/jobs/x HTTP/1.1\r\nHost: m\r\n\r\n",
		"GET /v1/fs/" + root + "/%2e%2e/x HTTP/1.1\r\nHost: m\r\n\r\n",
		"POST /v1/gc HTTP/1.1\r\nHost: m\r\nContent-Length: 2\r\n\r\n{}",
	} {
		f.Add([]byte(s))
	}
	h := newTestHandler(f, fx.b)
	f.Fuzz(func(t *testing.T, raw []byte) {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return
		}
		if strings.Contains(req.URL.Path, "panic") {
			return // the test backend panics there on purpose
		}
		res := serveRecorder(h, request{method: req.Method, target: req.RequestURI, header: flatHeader(req.Header), body: readAllString(req)}, &rootPeer)
		if res.status >= 500 && !strings.Contains(req.URL.Path, "broken") && !strings.Contains(req.URL.Path, "origin-down") {
			t.Fatalf("%s %s answered %d: %s", req.Method, req.RequestURI, res.status, res.body)
		}
		if res.status >= 400 && req.Method != http.MethodHead {
			var e Error
			if err := json.Unmarshal(res.body, &e); err != nil || e.Code == "" || e.Message == "" {
				t.Fatalf("%s %s: error answer %d %q is not the API's JSON error", req.Method, req.RequestURI, res.status, res.body)
			}
		}
	})
}

func flatHeader(h http.Header) map[string]string {
	out := map[string]string{}
	for k, v := range h {
		out[k] = strings.Join(v, ", ")
	}
	return out
}

func readAllString(r *http.Request) string {
	var b bytes.Buffer
	_, _ = b.ReadFrom(r.Body)
	return b.String()
}
