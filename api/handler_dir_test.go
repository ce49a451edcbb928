package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// checkListing decodes a directory answer and compares it with the
// fixture's listing of p.
func checkListing(p string, wantNames ...string) func(t *testing.T, f *fixture, res result) {
	return func(t *testing.T, f *fixture, res result) {
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("Content-Type = %q", ct)
		}
		var d Dir
		if err := json.Unmarshal(res.body, &d); err != nil {
			t.Fatalf("listing %q: %v", res.body, err)
		}
		want := f.b.datasets[f.root].dirs[p]
		if d.CID != want.CID || d.Path != p {
			t.Errorf("listing cid/path = %s %q, want %s %q", d.CID, d.Path, want.CID, p)
		}
		var names []string
		for _, e := range d.Entries {
			names = append(names, e.Name+":"+string(e.Type))
			if e.Type == TypeFile {
				full := strings.TrimPrefix(p+"/"+e.Name, "/")
				if e.Size != int64(len(f.files[full])) {
					t.Errorf("entry %s size %d, want %d", e.Name, e.Size, len(f.files[full]))
				}
			}
		}
		slices.Sort(names)
		if !slices.Equal(names, wantNames) {
			t.Errorf("entries %v, want %v", names, wantNames)
		}
		if got := res.header.Get("ETag"); got != `"`+want.CID.String()+`"` {
			t.Errorf("ETag = %q", got)
		}
	}
}

func rawReq(method, target string) func(*fixture) request {
	return func(*fixture) request { return request{method: method, target: target} }
}

func TestHandlerDirsAndPaths(t *testing.T) {
	rootNames := []string{"a.txt:file", "broken-early:file", "broken-small:file", "broken:file", "dir:dir", "with space.txt:file"}
	cases := []httpCase{
		{name: "root", req: fsReq("GET", ""), wantStatus: 200, check: checkListing("", rootNames...)},
		{name: "root slash", req: fsReq("GET", "/"), wantStatus: 200, check: checkListing("", rootNames...)},
		{name: "subdir", req: fsReq("GET", "/dir"), wantStatus: 200, check: checkListing("dir", "b.bin:file", "sub:dir")},
		{name: "subdir slash", req: fsReq("GET", "/dir/"), wantStatus: 200, check: checkListing("dir", "b.bin:file", "sub:dir")},
		{name: "HEAD dir", req: fsReq("HEAD", "/dir"), wantStatus: 200,
			wantHeader: map[string]string{"Content-Type": "application/json", "X-Meshcache-Type": "dir"}},
		{name: "dir ignores range", req: fsReq("GET", "/dir", "Range", "bytes=0-0"), wantStatus: 200, check: checkListing("dir", "b.bin:file", "sub:dir")},
		{name: "root as CIDv0", wantStatus: 200, check: checkListing("", rootNames...),
			req: func(f *fixture) request {
				return request{method: "GET", target: "/v1/fs/" + cid.NewCidV0(f.root.Hash()).String()}
			}},
		{name: "missing path", req: fsReq("GET", "/nope.txt"), wantStatus: 404, wantCode: CodeNotFound, wantMsg: `"nope.txt"`},
		{name: "unknown dataset", wantStatus: 404, wantCode: CodeNotFound, wantMsg: "not known",
			req: func(*fixture) request {
				return request{method: "GET", target: "/v1/fs/" + sumCID(cid.DagProtobuf, []byte("x")).String() + "/a"}
			}},
		{name: "malformed CID", req: rawReq("GET", "/v1/fs/notacid/x"), wantStatus: 400, wantCode: CodeBadCID, wantMsg: `malformed CID "notacid"`},
		{name: "truncated CID", req: rawReq("GET", "/v1/fs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzd"), wantStatus: 400,
			wantCode: CodeBadCID, wantMsg: "truncated"},
		{name: "short CIDv0", req: rawReq("GET", "/v1/fs/QmYwAPJzv5CZsnA625s3Xf"), wantStatus: 400, wantCode: CodeBadCID, wantMsg: "46 characters"},
		{name: "CID with punctuation", req: rawReq("GET", "/v1/fs/bafy.x"), wantStatus: 400, wantCode: CodeBadCID, wantMsg: "character 5"},
		{name: "dag-cbor root", wantStatus: 400, wantCode: CodeBadCID, wantMsg: "codec 0x71",
			req: func(*fixture) request {
				h, _ := mh.Sum([]byte("x"), mh.SHA2_256, -1)
				return request{method: "GET", target: "/v1/fs/" + cid.NewCidV1(cid.DagCBOR, h).String()}
			}},
		{name: "no CID", req: rawReq("GET", "/v1/fs/"), wantStatus: 404, wantCode: CodeNoRoute},
		{name: "dot-dot", req: fsReq("GET", "/dir/../a.txt"), wantStatus: 400, wantCode: CodeBadPath, wantMsg: "'..' segment"},
		{name: "escaped dot-dot", req: fsReq("GET", "/%2e%2e/%2E%2E/etc/passwd"), wantStatus: 400, wantCode: CodeBadPath},
		{name: "dot", req: fsReq("GET", "/./a.txt"), wantStatus: 400, wantCode: CodeBadPath},
		{name: "double slash", req: fsReq("GET", "//a.txt"), wantStatus: 400, wantCode: CodeBadPath, wantMsg: "empty segment"},
		{name: "escaped slash still clean", req: fsReq("GET", "/dir%2Fb.bin"), wantStatus: 200, wantBody: fileBytes("dir/b.bin", 0, -1)},
		{name: "NUL", req: fsReq("GET", "/a%00b"), wantStatus: 400, wantCode: CodeBadPath, wantMsg: "control character"},
		{name: "block", wantStatus: 200, wantBody: func(f *fixture) []byte { return f.blockData },
			wantHeader: map[string]string{"Content-Type": "application/octet-stream", "X-Meshcache-Type": "block", "Cache-Control": immutable},
			req:        func(f *fixture) request { return request{method: "GET", target: "/v1/blocks/" + f.block.String()} }},
		{name: "block range", wantStatus: 206, wantBody: func(f *fixture) []byte { return f.blockData[4000:] },
			req: func(f *fixture) request {
				return request{method: "GET", target: "/v1/blocks/" + f.block.String(), header: map[string]string{"Range": "bytes=4000-"}}
			}},
		{name: "HEAD block", wantStatus: 200, wantHeader: map[string]string{"Content-Length": "4096"},
			req: func(f *fixture) request { return request{method: "HEAD", target: "/v1/blocks/" + f.block.String()} }},
		{name: "unknown block", wantStatus: 404, wantCode: CodeNotFound, wantMsg: "not in the store",
			req: func(*fixture) request {
				return request{method: "GET", target: "/v1/blocks/" + sumCID(cid.Raw, []byte("y")).String()}
			}},
		{name: "malformed block CID", req: rawReq("GET", "/v1/blocks/zzz"), wantStatus: 400, wantCode: CodeBadCID},
		{name: "POST to fs", req: fsReq("POST", "/a.txt"), wantStatus: 405, wantCode: CodeMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "GET, HEAD"}},
		{name: "unknown route", req: rawReq("GET", "/v2/things"), wantStatus: 404, wantCode: CodeNoRoute, wantMsg: "docs/api.md"},
		{name: "unknown route root", req: rawReq("GET", "/"), wantStatus: 404, wantCode: CodeNoRoute},
		{name: "metrics", req: rawReq("GET", "/metrics"), wantStatus: http.StatusOK,
			wantBody: func(*fixture) []byte { return []byte("meshcache_test_metric 1\n") }},
	}
	runCases(t, cases)
}
