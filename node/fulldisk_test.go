package node

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
)

// mountTmpfs mounts a tmpfs of size (mount's syntax, "24m") on a new
// directory and unmounts it when the test ends, after everything started
// later (the daemon) has stopped.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	testenv.RequireRoot(t)
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("unmount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

func remountTmpfs(t *testing.T, dir, size string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		t.Fatalf("remount %s: %v: %s", dir, err, out)
	}
}

// TestFullDisk puts the data directory on a 24 MiB tmpfs and pins a 40 MiB
// dataset: the pin fails with a clear "no space" error (or is refused with
// 507), the daemon keeps serving its other data, and once space is freed
// (unpin and gc, then a bigger tmpfs) new pins succeed.
func TestFullDisk(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	data := mountTmpfs(t, "24m")
	origins := t.TempDir()
	sets := map[string][]fixtureFile{
		"small":  {{"a.bin", 2 * mib}, {"b.txt", 1000}},
		"big":    {{"x/1.bin", 20 * mib}, {"x/2.bin", 20 * mib}},
		"medium": {{"m.bin", 10 * mib}},
	}
	for name, files := range sets {
		writeFixture(t, filepath.Join(origins, name), files)
	}
	d := startDaemon(t, Config{DataDir: filepath.Join(data, "meshcache"), AllowOrigins: []string{"file://" + origins}})
	url := func(name string) string { return "file://" + filepath.Join(origins, name) }
	small := publish(ctx, t, d.c, api.PublishRequest{Origin: url("small")})
	mustPin(ctx, t, d.c, small, "")
	big := publish(ctx, t, d.c, api.PublishRequest{Origin: url("big"), NoStore: true})
	medium := publish(ctx, t, d.c, api.PublishRequest{Origin: url("medium"), NoStore: true})

	_, err := pin(ctx, d.c, big, "")
	switch e := asAPIError(t, err); {
	case e.Status == http.StatusInsufficientStorage:
	case e.Code == api.CodePinFailed && strings.Contains(e.Message, "no space"):
	default:
		t.Fatalf("pin of 40 MiB onto 24 MiB: %v (status %d, code %s), want 507 or a pin failed for no space", err, e.Status, e.Code)
	}

	// Still serving: stats, listings, and the data it holds.
	if _, err := d.c.Stats(ctx); err != nil {
		t.Fatalf("stats on a full disk: %v", err)
	}
	checkAllFiles(ctx, t, d.c, small, filepath.Join(origins, "small"), sets["small"])
	if _, err := d.c.ReadDir(ctx, big, "x"); err != nil {
		t.Errorf("list on a full disk: %v", err)
	}

	// Free the space the failed pin took, then a pin that fits succeeds.
	if err := d.c.Unpin(ctx, big); err != nil && asAPIError(t, err).Status != http.StatusNotFound {
		t.Fatalf("unpin: %v", err)
	}
	if _, err := d.c.GC(ctx); err != nil {
		t.Fatalf("gc: %v", err)
	}
	mustPin(ctx, t, d.c, medium, "")
	checkAllFiles(ctx, t, d.c, medium, filepath.Join(origins, "medium"), sets["medium"])

	// A bigger disk takes the big one too.
	remountTmpfs(t, data, "80m")
	mustPin(ctx, t, d.c, big, "")
	checkAllFiles(ctx, t, d.c, big, filepath.Join(origins, "big"), sets["big"])
	checkAllFiles(ctx, t, d.c, small, filepath.Join(origins, "small"), sets["small"])
}
