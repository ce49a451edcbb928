package node

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
)

// TestMalformedRequests sends a batch of bad requests to a real daemon that
// holds a dataset: each gets a 4xx JSON error with the expected code, and
// the daemon keeps serving (its stats and the dataset's files) afterwards.
func TestMalformedRequests(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir, root := publishFixture(t)
	d := startDaemon(t, Config{AllowOrigins: []string{"file://" + dir}})
	mustPin(ctx, t, d.c, root, "file://"+dir)
	r := api.Canonical(root)
	fs := "/v1/fs/" + r + "/"
	unknown := "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi" // a dag-pb CID of no dataset here
	rawCID := "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"  // the empty raw block
	cases := []struct {
		name, method, path, body string
		hdr                      http.Header
		status                   int
		code                     string
	}{
		{"fs bad cid", "GET", "/v1/fs/notacid/x", "", nil, 400, api.CodeBadCID},
		{"fs cid of another codec", "GET", "/v1/fs/bagaaierasords4njcts6vs7qvdjfcvgnume4hqohf65zsfguprqphs3icwea/x", "", nil, 400, api.CodeBadCID},
		{"fs unknown dataset", "GET", "/v1/fs/" + unknown + "/x", "", nil, 404, api.CodeNotFound},
		{"fs no such path", "GET", fs + "no/such/file", "", nil, 404, api.CodeNotFound},
		{"fs path under a file", "GET", fs + "small.bin/x", "", nil, 404, api.CodeNotFound},
		{"fs traversal", "GET", fs + "nested/../../etc/passwd", "", nil, 400, api.CodeBadPath},
		{"range past end", "GET", fs + "small.bin", "", http.Header{"Range": {"bytes=5000-"}}, 416, api.CodeRangeNotSatisfiable},
		{"range on empty file", "GET", fs + "empty.txt", "", http.Header{"Range": {"bytes=0-0"}}, 416, api.CodeRangeNotSatisfiable},
		{"range reversed", "GET", fs + "small.bin", "", http.Header{"Range": {"bytes=50-10"}}, 416, api.CodeRangeNotSatisfiable},
		{"block bad cid", "GET", "/v1/blocks/zzz", "", nil, 400, api.CodeBadCID},
		{"block not held", "GET", "/v1/blocks/" + unknown, "", nil, 404, api.CodeNotFound},
		{"pin status bad cid", "GET", "/v1/pins/xyz", "", nil, 400, api.CodeBadCID},
		{"pin status not pinned", "GET", "/v1/pins/" + unknown, "", nil, 404, api.CodeNotFound},
		{"unpin not pinned", "DELETE", "/v1/pins/" + unknown, "", nil, 404, api.CodeNotFound},
		{"pin bad json", "POST", "/v1/pins", "{", nil, 400, api.CodeBadJSON},
		{"pin wrong type", "POST", "/v1/pins", `{"cid": 5}`, nil, 400, ""},
		{"pin bad cid", "POST", "/v1/pins", `{"cid": "x"}`, nil, 400, api.CodeBadCID},
		{"pin unknown field", "POST", "/v1/pins", `{"cid": "` + r + `", "bogus": 1}`, nil, 400, api.CodeUnknownField},
		{"pin unknown dataset, no origin", "POST", "/v1/pins", `{"cid": "` + unknown + `"}`, nil, 404, api.CodeNotFound},
		{"pin raw block", "POST", "/v1/pins", `{"cid": "` + rawCID + `"}`, nil, 404, api.CodeNotFound},
		{"pin origin not a URL", "POST", "/v1/pins", `{"cid": "` + unknown + `", "origin": "::"}`, nil, 400, api.CodeBadRequest},
		{"publish no origin", "POST", "/v1/datasets", `{}`, nil, 400, ""},
		{"publish bad json", "POST", "/v1/datasets", `[1,2`, nil, 400, api.CodeBadJSON},
		{"publish bad scheme", "POST", "/v1/datasets", `{"origin": "ftp://h/x"}`, nil, 400, api.CodeBadRequest},
		{"publish bad file list", "POST", "/v1/datasets", `{"origin": "file://` + dir + `", "files": ["../x"]}`, nil, 400, ""},
		{"publish job unknown", "GET", "/v1/datasets/jobs/nope", "", nil, 404, api.CodeNotFound},
		{"unknown path", "GET", "/v2/anything", "", nil, 404, api.CodeNoRoute},
		{"wrong method", "DELETE", "/v1/stats", "", nil, 405, api.CodeMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := d.rawRequest(t, tc.method, tc.path, tc.body, tc.hdr)
			if resp.Status != tc.status {
				t.Errorf("status %d, want %d: %s", resp.Status, tc.status, resp.Body)
			}
			var e api.Error
			if err := json.Unmarshal(resp.Body, &e); err != nil || e.Message == "" {
				t.Fatalf("body %q is not a JSON error: %v", resp.Body, err)
			}
			if tc.code != "" && e.Code != tc.code {
				t.Errorf("code %q, want %q (%s)", e.Code, tc.code, e.Message)
			}
			if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
	st, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatalf("stats after the bad requests: %v", err)
	}
	if st.Pins.Pinned != 1 || st.Pins.Total != 1 {
		t.Errorf("pins after the bad requests: %+v, want the one pin", st.Pins)
	}
	checkAllFiles(ctx, t, d.c, root, dir, standardFiles)
}
