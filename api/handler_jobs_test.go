package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

func bodyReq(method, target string, body func(f *fixture) string) func(*fixture) request {
	return func(f *fixture) request { return request{method: method, target: target, body: body(f)} }
}

func pinBody(f *fixture) string { return fmt.Sprintf(`{"cid": %q}`, f.root) }

func constBody(s string) func(*fixture) string { return func(*fixture) string { return s } }

// decodeInto checks that the body decodes strictly into a T and passes fn.
func decodeInto[T any](fn func(t *testing.T, f *fixture, v T)) func(t *testing.T, f *fixture, res result) {
	return func(t *testing.T, f *fixture, res result) {
		var v T
		dec := json.NewDecoder(strings.NewReader(string(res.body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("body %q: %v", res.body, err)
		}
		fn(t, f, v)
	}
}

func TestHandlerPins(t *testing.T) {
	pinned := func(f *fixture) {
		f.b.setPin(PinStatus{CID: CID(f.root), State: PinPinned, BytesDone: 10, BytesTotal: 10,
			BySource: SourceBytes{Local: 1, Peer: 2, Origin: 7}, Started: time.Unix(1700000000, 0).UTC()})
	}
	cases := []httpCase{
		{name: "pin", req: bodyReq("POST", "/v1/pins", pinBody), wantStatus: 202,
			check: func(t *testing.T, f *fixture, res result) {
				if loc := res.header.Get("Location"); loc != "/v1/pins/"+f.root.String() {
					t.Errorf("Location = %q", loc)
				}
				decodeInto(func(t *testing.T, f *fixture, st PinStatus) {
					if cid.Cid(st.CID) != f.root || st.State != PinQueued {
						t.Errorf("status %+v", st)
					}
				})(t, f, res)
			}},
		{name: "pin CIDv0 answers CIDv1", wantStatus: 202,
			req: bodyReq("POST", "/v1/pins", func(f *fixture) string {
				return fmt.Sprintf(`{"cid": %q}`, cid.NewCidV0(f.root.Hash()))
			}),
			check: func(t *testing.T, f *fixture, res result) {
				if !strings.Contains(string(res.body), `"cid":"`+f.root.String()+`"`) {
					t.Errorf("body %s lacks the CIDv1 %s", res.body, f.root)
				}
			}},
		{name: "pin already pinned", setup: pinned, req: bodyReq("POST", "/v1/pins", pinBody), wantStatus: 200},
		{name: "pin unknown without origin", req: bodyReq("POST", "/v1/pins", func(*fixture) string {
			return fmt.Sprintf(`{"cid": %q}`, sumCID(cid.DagProtobuf, []byte("other")))
		}), wantStatus: 404, wantCode: CodeNotFound, wantMsg: "no origin"},
		{name: "pin too large", setup: func(f *fixture) { f.b.capacity = 100 }, req: bodyReq("POST", "/v1/pins", pinBody),
			wantStatus: 507, wantCode: CodeInsufficientStorage, wantMsg: "has 100 free"},
		{name: "pin unknown field", req: bodyReq("POST", "/v1/pins", func(f *fixture) string {
			return fmt.Sprintf(`{"cid": %q, "orign": "s3://b"}`, f.root)
		}), wantStatus: 400, wantCode: CodeUnknownField, wantMsg: `unknown field "orign" in request body; known fields: "cid", "origin"`},
		{name: "pin bad JSON", req: bodyReq("POST", "/v1/pins", constBody(`{"cid": `)), wantStatus: 400, wantCode: CodeBadJSON, wantMsg: "truncated"},
		{name: "pin not JSON", req: bodyReq("POST", "/v1/pins", constBody(`cid=bafy`)), wantStatus: 400, wantCode: CodeBadJSON, wantMsg: "not valid JSON"},
		{name: "pin empty body", req: bodyReq("POST", "/v1/pins", constBody(``)), wantStatus: 400, wantCode: CodeBadJSON, wantMsg: `"cid", "origin"`},
		{name: "pin array body", req: bodyReq("POST", "/v1/pins", constBody(`[1]`)), wantStatus: 400, wantCode: CodeBadJSON, wantMsg: "not a JSON array"},
		{name: "pin no cid", req: bodyReq("POST", "/v1/pins", constBody(`{}`)), wantStatus: 400, wantCode: CodeBadCID, wantMsg: `no "cid"`},
		{name: "pin malformed cid", req: bodyReq("POST", "/v1/pins", constBody(`{"cid": "bafyNOPE"}`)), wantStatus: 400,
			wantCode: CodeBadCID, wantMsg: `malformed CID "bafyNOPE": it has upper-case letters`},
		{name: "pin cid number", req: bodyReq("POST", "/v1/pins", constBody(`{"cid": 5}`)), wantStatus: 400,
			wantCode: CodeBadCID, wantMsg: "JSON string"},
		{name: "pin wrong type", req: bodyReq("POST", "/v1/pins", func(f *fixture) string {
			return fmt.Sprintf(`{"cid": %q, "origin": 7}`, f.root)
		}), wantStatus: 400, wantCode: CodeBadJSON, wantMsg: `field "origin" must be a string`},
		{name: "pin trailing data", req: bodyReq("POST", "/v1/pins", func(f *fixture) string { return pinBody(f) + ` {}` }),
			wantStatus: 400, wantCode: CodeBadJSON, wantMsg: "data after"},
		{name: "pin oversized body", req: bodyReq("POST", "/v1/pins", func(f *fixture) string {
			return fmt.Sprintf(`{"cid": %q, "origin": "s3://b/%s"}`, f.root, strings.Repeat("x", DefaultMaxBodyBytes))
		}), wantStatus: 413, wantCode: CodeBodyTooLarge, wantMsg: "1048576 bytes"},
		{name: "pin bad origin scheme", req: bodyReq("POST", "/v1/pins", func(f *fixture) string {
			return fmt.Sprintf(`{"cid": %q, "origin": "ftp://x/y"}`, f.root)
		}), wantStatus: 400, wantCode: CodeBadRequest, wantMsg: `scheme "ftp"`},
		{name: "pin origin with credentials", req: bodyReq("POST", "/v1/pins", func(f *fixture) string {
			return fmt.Sprintf(`{"cid": %q, "origin": "s3://AKIA:s3cr3t@bucket/p"}`, f.root)
		}), wantStatus: 400, wantCode: CodeBadRequest, wantMsg: "carries credentials",
			check: func(t *testing.T, f *fixture, res result) {
				if strings.Contains(string(res.body), "s3cr3t") {
					t.Errorf("error echoes the secret: %s", res.body)
				}
			}},
		{name: "list pins", setup: pinned, req: rawReq("GET", "/v1/pins"), wantStatus: 200,
			check: decodeInto(func(t *testing.T, f *fixture, v struct{ Pins []PinStatus }) {
				if len(v.Pins) != 1 || cid.Cid(v.Pins[0].CID) != f.root || v.Pins[0].BySource.Origin != 7 || v.Pins[0].Started.Unix() != 1700000000 {
					t.Errorf("pins %+v", v.Pins)
				}
			})},
		{name: "list no pins", req: rawReq("GET", "/v1/pins"), wantStatus: 200,
			wantBody: func(*fixture) []byte { return []byte(`{"pins":[]}` + "\n") }},
		{name: "pin status", setup: pinned, req: func(f *fixture) request { return request{method: "GET", target: "/v1/pins/" + f.root.String()} },
			wantStatus: 200, check: decodeInto(func(t *testing.T, f *fixture, st PinStatus) {
				if st.State != PinPinned || st.BytesTotal != 10 {
					t.Errorf("status %+v", st)
				}
			})},
		{name: "pin status unknown", req: func(f *fixture) request { return request{method: "GET", target: "/v1/pins/" + f.root.String()} },
			wantStatus: 404, wantCode: CodeNotFound, wantMsg: "is not pinned"},
		{name: "pin status malformed", req: rawReq("GET", "/v1/pins/xyz"), wantStatus: 400, wantCode: CodeBadCID},
		{name: "unpin", setup: pinned, req: func(f *fixture) request { return request{method: "DELETE", target: "/v1/pins/" + f.root.String()} },
			wantStatus: 204, check: func(t *testing.T, f *fixture, res result) {
				if _, err := f.b.PinStatus(t.Context(), f.root); ErrorCode(err) != CodeNotFound {
					t.Errorf("pin still there after unpin: %v", err)
				}
			}},
		{name: "unpin unknown", req: func(f *fixture) request { return request{method: "DELETE", target: "/v1/pins/" + f.root.String()} },
			wantStatus: 404, wantCode: CodeNotFound},
		{name: "PUT pins", req: rawReq("PUT", "/v1/pins"), wantStatus: 405, wantCode: CodeMethodNotAllowed,
			wantHeader: map[string]string{"Allow": "GET, POST"}},
		{name: "bogus method", req: rawReq("BREW", "/v1/pins"), wantStatus: 405, wantCode: CodeMethodNotAllowed},
	}
	runCases(t, cases)
}

func TestHandlerDatasetsAndInfo(t *testing.T) {
	done := func(f *fixture) {
		f.b.setJob(PublishStatus{ID: "job-7", Origin: "s3://b/p", State: PublishDone, FilesDone: 2, FilesTotal: 2, Root: CID(f.root)})
	}
	cases := []httpCase{
		{name: "publish", req: bodyReq("POST", "/v1/datasets", constBody(`{"origin": "s3://b/p", "no_store": true, "files": ["a", "d/b"]}`)),
			wantStatus: 202, wantHeader: map[string]string{"Location": "/v1/datasets/jobs/job-1"},
			check: decodeInto(func(t *testing.T, f *fixture, st PublishStatus) {
				if st.ID != "job-1" || st.State != PublishQueued || st.FilesTotal != 2 || !st.Root.IsZero() {
					t.Errorf("status %+v", st)
				}
			})},
		{name: "publish no origin", req: bodyReq("POST", "/v1/datasets", constBody(`{"files": ["a"]}`)), wantStatus: 400, wantMsg: `no "origin"`},
		{name: "publish bad file path", req: bodyReq("POST", "/v1/datasets", constBody(`{"origin": "file:///data", "files": ["a", "../etc/passwd"]}`)),
			wantStatus: 400, wantCode: CodeBadPath, wantMsg: `files[1] "../etc/passwd"`},
		{name: "publish absolute file path", req: bodyReq("POST", "/v1/datasets", constBody(`{"origin": "file:///data", "files": ["/etc/passwd"]}`)),
			wantStatus: 400, wantCode: CodeBadPath, wantMsg: "relative"},
		{name: "publish unknown field", req: bodyReq("POST", "/v1/datasets", constBody(`{"origin": "s3://b/p", "nostore": true}`)),
			wantStatus: 400, wantCode: CodeUnknownField, wantMsg: `"origin", "no_store", "files"`},
		{name: "publish origin down", req: bodyReq("POST", "/v1/datasets", constBody(`{"origin": "https://unreachable.example/d"}`)),
			wantStatus: 503, wantCode: CodeOriginUnavailable, wantMsg: "https://unreachable.example/d"},
		{name: "job done", setup: done, req: rawReq("GET", "/v1/datasets/jobs/job-7"), wantStatus: 200,
			check: decodeInto(func(t *testing.T, f *fixture, st PublishStatus) {
				if cid.Cid(st.Root) != f.root || st.State != PublishDone {
					t.Errorf("status %+v", st)
				}
			})},
		{name: "job unknown", req: rawReq("GET", "/v1/datasets/jobs/nope"), wantStatus: 404, wantCode: CodeNotFound, wantMsg: `"nope"`},
		{name: "job id too long", req: rawReq("GET", "/v1/datasets/jobs/"+strings.Repeat("j", 200)), wantStatus: 404, wantCode: CodeNotFound},
		{name: "GET datasets", req: rawReq("GET", "/v1/datasets"), wantStatus: 405, wantHeader: map[string]string{"Allow": "POST"}},
		{name: "gc", req: rawReq("POST", "/v1/gc"), wantStatus: 200,
			check: decodeInto(func(t *testing.T, f *fixture, r GCResult) {
				if r.BlocksRemoved != 1 || r.BytesRemoved != int64(len(f.blockData)) {
					t.Errorf("gc %+v", r)
				}
			})},
		{name: "gc empty object", req: bodyReq("POST", "/v1/gc", constBody(`{}`)), wantStatus: 200},
		{name: "gc unknown field", req: bodyReq("POST", "/v1/gc", constBody(`{"dry_run": true}`)), wantStatus: 400, wantCode: CodeUnknownField},
		{name: "stats", req: rawReq("GET", "/v1/stats"), wantStatus: 200,
			check: decodeInto(func(t *testing.T, f *fixture, st Stats) {
				if st.API.Requests < 1 || st.Store.Blocks != 1 || len(st.Origins) != 1 || st.Peers != nil {
					t.Errorf("stats %+v", st)
				}
			})},
		{name: "HEAD stats", req: rawReq("HEAD", "/v1/stats"), wantStatus: 200, wantHeader: map[string]string{"Content-Type": "application/json"}},
		{name: "DELETE stats", req: rawReq("DELETE", "/v1/stats"), wantStatus: 405, wantCode: CodeMethodNotAllowed},
		{name: "id not yet", req: rawReq("GET", "/v1/id"), wantStatus: 503, wantCode: CodeNotAvailable, wantMsg: "mesh is not running"},
		{name: "peers not yet", req: rawReq("GET", "/v1/peers"), wantStatus: 503, wantCode: CodeNotAvailable},
	}
	runCases(t, cases)
}

func TestHandlerAuthorization(t *testing.T) {
	nobody := &Peer{PID: 42, UID: 65534, GID: 65534, Groups: []uint32{65534, 100}, GroupsFrom: groupsFromSockopt}
	member := &Peer{PID: 43, UID: 65534, GID: 65534, Groups: []uint32{100, adminGID}, GroupsFrom: groupsFromSockopt}
	primary := &Peer{PID: 44, UID: 1000, GID: adminGID, GroupsFrom: groupsFromSockopt}
	daemon := &Peer{PID: 45, UID: 0, GID: 0}
	const refusal = "needs an admin: uid 65534 is not root, not the daemon's uid 0 and not in group 'meshcache-admin' (gid 990)"
	cases := []httpCase{
		{name: "nobody pins", peer: nobody, inProcess: true, req: bodyReq("POST", "/v1/pins", pinBody),
			wantStatus: 403, wantCode: CodeForbidden, wantMsg: "pin " + refusal},
		{name: "nobody unpins", peer: nobody, inProcess: true, req: func(f *fixture) request {
			return request{method: "DELETE", target: "/v1/pins/" + f.root.String()}
		}, wantStatus: 403, wantCode: CodeForbidden, wantMsg: "unpin " + refusal},
		{name: "nobody publishes", peer: nobody, inProcess: true, req: bodyReq("POST", "/v1/datasets", constBody(`{"origin":"s3://b"}`)),
			wantStatus: 403, wantCode: CodeForbidden, wantMsg: "publish " + refusal},
		{name: "nobody collects garbage", peer: nobody, inProcess: true, req: rawReq("POST", "/v1/gc"),
			wantStatus: 403, wantCode: CodeForbidden, wantMsg: "gc " + refusal},
		{name: "nobody reads", peer: nobody, inProcess: true, req: fsReq("GET", "/a.txt"), wantStatus: 200, wantBody: fileBytes("a.txt", 0, -1)},
		{name: "nobody reads stats", peer: nobody, inProcess: true, req: rawReq("GET", "/v1/stats"), wantStatus: 200},
		{name: "nobody reads pins", peer: nobody, inProcess: true, req: rawReq("GET", "/v1/pins"), wantStatus: 200},
		{name: "supplementary admin group", peer: member, inProcess: true, req: bodyReq("POST", "/v1/pins", pinBody), wantStatus: 202},
		{name: "primary admin group", peer: primary, inProcess: true, req: rawReq("POST", "/v1/gc"), wantStatus: 200},
		{name: "root", peer: daemon, inProcess: true, req: rawReq("POST", "/v1/gc"), wantStatus: 200},
		{name: "no credentials", noPeer: true, inProcess: true, req: rawReq("POST", "/v1/gc"),
			wantStatus: 403, wantCode: CodeForbidden, wantMsg: "peer credentials are unknown"},
		{name: "unreadable credentials", peer: &Peer{Err: fmt.Errorf("getsockopt: EBADF")}, inProcess: true, req: rawReq("POST", "/v1/gc"),
			wantStatus: 403, wantCode: CodeForbidden, wantMsg: "could not read"},
		{name: "admin check before body", peer: nobody, inProcess: true, req: bodyReq("POST", "/v1/pins", constBody(`{garbage`)),
			wantStatus: 403, wantCode: CodeForbidden},
	}
	runCases(t, cases)
}

func TestAdminsWithoutGroup(t *testing.T) {
	a := Admins{DaemonUID: 1000}
	ctx := WithPeer(t.Context(), Peer{UID: 65534, GID: 65534})
	err := a.authorize(ctx, "pin")
	const want = "pin needs an admin: uid 65534 is not root, not the daemon's uid 1000, and the daemon has no admin group configured"
	if err == nil || err.Error() != want {
		t.Fatalf("refusal = %v, want %q", err, want)
	}
	if err := a.authorize(WithPeer(t.Context(), Peer{UID: 1000}), "pin"); err != nil {
		t.Fatalf("the daemon's own uid is refused: %v", err)
	}
}
