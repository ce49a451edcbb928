package node

import (
	"crypto/sha256"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
)

// publishFixture writes standardFiles into a new folder and publishes it
// (metadata only, CAR beside the data) from a daemon that then stops.
func publishFixture(t *testing.T) (dir string, root cid.Cid) {
	t.Helper()
	return publishFiles(t, standardFiles)
}

// publishFiles is publishFixture for other files.
func publishFiles(t *testing.T, files []fixtureFile) (dir string, root cid.Cid) {
	t.Helper()
	ctx := testContext(t, time.Minute)
	dir = filepath.Join(t.TempDir(), "origin")
	writeFixture(t, dir, files)
	pub := startDaemon(t, Config{AllowOrigins: []string{"file://" + dir}})
	root = publish(ctx, t, pub.c, api.PublishRequest{Origin: "file://" + dir, NoStore: true})
	if err := pub.stop(); err != nil {
		t.Fatal(err)
	}
	return dir, root
}

// TestPinRidesOutUnavailableOrigin: an origin that answers 503 for a while
// and then recovers costs retries, not the pin.
func TestPinRidesOutUnavailableOrigin(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir, root := publishFixture(t)
	var served503 atomic.Int64
	srv := startFaultServer(t, dir, unavailableFirst(4, &served503))
	d := startDaemon(t, Config{AllowOrigins: []string{srv.url}})
	st := mustPin(ctx, t, d.c, root, srv.url)
	if served503.Load() != 4 {
		t.Fatalf("the origin answered 503 %d times, want 4", served503.Load())
	}
	if st.BytesDone != sizeOf(standardFiles) {
		t.Errorf("pin status %+v", st)
	}
	checkAllFiles(ctx, t, d.c, root, dir, standardFiles)
}

// TestPinRefusesWrongBytes: an origin that sends wrong bytes for one block
// fails the pin with an integrity error naming the origin; the wrong bytes
// are stored nowhere, and a read of that block answers 502 with a JSON
// error rather than the bytes.
func TestPinRefusesWrongBytes(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir, root := publishFixture(t)
	const victim = "odd.bin"
	badOff := int64(mib + 5)
	srv := startFaultServer(t, dir, corruptByte("/"+victim, badOff))
	d := startDaemon(t, Config{AllowOrigins: []string{srv.url}})

	_, err := pin(ctx, d.c, root, srv.url)
	if e := asAPIError(t, err); e.Code != api.CodePinFailed {
		t.Fatalf("pin from a corrupting origin: %v (code %s), want pin_failed", err, e.Code)
	}
	st, err := d.c.PinStatus(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != api.PinFailed || !strings.Contains(st.Error, "integrity") || !strings.Contains(st.Error, srv.url) || !strings.Contains(st.Error, victim) {
		t.Errorf("pin error %q: want an integrity error naming %s and %s", st.Error, srv.url, victim)
	}

	// The wrong block is nowhere in the store.
	wrong := fileBytes(t, filepath.Join(dir, victim), mib, mib)
	wrong[5] ^= 0xff
	assertNoBlockWithBytes(t, d.cfg.DataDir, wrong)
	wrongCID, err := rawPrefix.Sum(wrong)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.c.Block(ctx, wrongCID); asAPIError(t, err).Status != http.StatusNotFound {
		t.Errorf("block of the wrong bytes: %v, want 404", err)
	}

	// Reading the block answers a JSON 502 naming the origin.
	u := "/v1/fs/" + api.Canonical(root) + "/" + victim
	resp := d.rawRequest(t, http.MethodGet, u, "", http.Header{"Range": {"bytes=1048576-1048599"}})
	checkJSONError(t, resp, http.StatusBadGateway, api.CodeOriginUnavailable, srv.url)
	// A read from the start cannot take back its status line: it must end
	// short rather than deliver the wrong bytes.
	if data, err := d.c.ReadFile(ctx, root, victim); err == nil {
		t.Errorf("reading %s whole gave %d bytes and no error", victim, len(data))
	}
	// The other files are intact.
	checkAllFiles(ctx, t, d.c, root, dir, []fixtureFile{standardFiles[1], standardFiles[2]})
}

// assertNoBlockWithBytes fails if any file under the data directory holds
// exactly data.
func assertNoBlockWithBytes(t testing.TB, dataDir string, data []byte) {
	t.Helper()
	want := sha256.Sum256(data)
	files := 0
	err := filepath.WalkDir(dataDir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || !e.Type().IsRegular() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if sha256.Sum256(b) == want {
			t.Errorf("%s holds the wrong bytes the origin sent", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("no files under %s: looked in the wrong place", dataDir)
	}
}

// checkJSONError checks an error answer: status, JSON body with code, and a
// message that mentions mention.
func checkJSONError(t testing.TB, resp rawResponse, status int, code, mention string) {
	t.Helper()
	if resp.Status != status {
		t.Errorf("status %d, want %d: %s", resp.Status, status, resp.Body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON: %q", ct, resp.Body)
	}
	var e api.Error
	if err := json.Unmarshal(resp.Body, &e); err != nil {
		t.Fatalf("error body %q: %v", resp.Body, err)
	}
	if e.Code != code || !strings.Contains(e.Message, mention) {
		t.Errorf("error %q (code %s): want code %s mentioning %q", e.Message, e.Code, code, mention)
	}
}

// TestOriginChangedAfterPublish: a file rewritten after publish (new size;
// or same size, new mtime) fails reads and pins with "origin changed"
// naming the object, and the API answers 502 origin_changed, whether read
// from the origin published from or from another server of the folder.
func TestOriginChangedAfterPublish(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	o := startOrigins(t, standardFiles)
	d := startDaemon(t, Config{AllowOrigins: []string{o.fileURL, o.httpURL}})
	root := publish(ctx, t, d.c, api.PublishRequest{Origin: o.fileURL, NoStore: true})

	grown := "odd.bin"
	f, err := os.OpenFile(filepath.Join(o.dir, grown), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	touched := "nested/Zürich été.csv"
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(o.dir, filepath.FromSlash(touched)), later, later); err != nil {
		t.Fatal(err)
	}

	for _, p := range []string{grown, touched} {
		u := "/v1/fs/" + api.Canonical(root) + "/" + escapePath(p)
		resp := d.rawRequest(t, http.MethodGet, u, "", http.Header{"Range": {"bytes=0-99"}})
		checkJSONError(t, resp, http.StatusBadGateway, api.CodeOriginChanged, p)
		checkJSONError(t, resp, http.StatusBadGateway, api.CodeOriginChanged, "origin changed")
	}
	// An unchanged file still reads.
	checkAllFiles(ctx, t, d.c, root, o.dir, standardFiles[1:2])

	for _, from := range []string{"", o.httpURL} {
		fresh := d
		if from != "" {
			fresh = startDaemon(t, Config{AllowOrigins: []string{from}})
		}
		_, err := pin(ctx, fresh.c, root, from)
		if e := asAPIError(t, err); e.Code != api.CodePinFailed {
			t.Fatalf("pin from %q of a changed origin: %v, want pin_failed", from, err)
		}
		st, err := fresh.c.PinStatus(ctx, root)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(st.Error, "origin changed") || !(strings.Contains(st.Error, grown) || strings.Contains(st.Error, touched)) {
			t.Errorf("pin from %q failed with %q: want origin changed naming %s or %s", from, st.Error, grown, touched)
		}
	}
}
