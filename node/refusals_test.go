package node

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/meshcache/meshcache/origin"
)

// TestDisallowedOrigin: pins and publishes naming an origin outside the
// daemon's allowlist are refused at once with 403 and the hint about
// --allow-origin, and the origin is never contacted.
func TestDisallowedOrigin(t *testing.T) {
	ctx := testContext(t, time.Minute)
	dir, root := publishFixture(t)
	ng := testenv.StartNginx(t, dir)
	allowed := filepath.Join(t.TempDir(), "allowed")
	writeFixture(t, allowed, standardFiles[:2])
	d := startDaemon(t, Config{AllowOrigins: []string{"file://" + allowed}})

	refused := func(what string, err error) {
		t.Helper()
		e := asAPIError(t, err)
		if e.Status != http.StatusForbidden || e.Code != api.CodeForbidden || !strings.Contains(e.Message, "--allow-origin") {
			t.Errorf("%s: %v (status %d, code %s), want 403 forbidden with the --allow-origin hint", what, err, e.Status, e.Code)
		}
	}
	for _, u := range []string{ng.URL(), "file://" + dir, "file://" + allowed + "/../origin", "file:///etc", "s3://bucket/x"} {
		_, err := d.c.Pin(ctx, root, u)
		refused("pin from "+u, err)
		_, err = d.c.Publish(ctx, api.PublishRequest{Origin: u})
		refused("publish from "+u, err)
	}
	if reqs := ng.Requests(); len(reqs) != 0 {
		t.Errorf("a disallowed origin was contacted: %+v", reqs)
	}
	st, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pins.Total != 0 {
		t.Errorf("refused pins left records: %+v", st.Pins)
	}
}

// TestPinLargerThanCapacity: a pin that cannot fit in the configured
// capacity is refused up front with 507, before any data is read from the
// origin (only the dataset's metadata is).
func TestPinLargerThanCapacity(t *testing.T) {
	ctx := testContext(t, time.Minute)
	dir, root := publishFixture(t)
	ng := testenv.StartNginx(t, dir)
	d := startDaemon(t, Config{AllowOrigins: []string{ng.URL()}, Capacity: 4 * mib})

	_, err := d.c.Pin(ctx, root, ng.URL())
	e := asAPIError(t, err)
	if e.Status != http.StatusInsufficientStorage || e.Code != api.CodeInsufficientStorage {
		t.Fatalf("pin of %d bytes into 4 MiB: %v (status %d, code %s), want 507", sizeOf(standardFiles), err, e.Status, e.Code)
	}
	for _, r := range ng.Requests() {
		if !strings.HasPrefix(r.URI, "/"+origin.MetaDir+"/") {
			t.Errorf("nginx served %s %s (%d bytes) for a refused pin", r.Method, r.URI, r.BodyBytes)
		}
	}
	st, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pins.Total != 0 || st.Store.PinnedBytes != 0 || st.BytesBySource.Origin != 0 {
		t.Errorf("after a refused pin: pins %+v, pinned bytes %d, origin bytes %d; want none", st.Pins, st.Store.PinnedBytes, st.BytesBySource.Origin)
	}
	// A dataset that fits still pins.
	small := filepath.Join(t.TempDir(), "small")
	writeFixture(t, small, standardFiles[:3])
	d = d.restart(func(c *Config) { c.AllowOrigins = append(c.AllowOrigins, "file://"+small) })
	smallRoot := publish(ctx, t, d.c, api.PublishRequest{Origin: "file://" + small, NoStore: true})
	mustPin(ctx, t, d.c, smallRoot, "")
	checkAllFiles(ctx, t, d.c, smallRoot, small, standardFiles[:3])
}
