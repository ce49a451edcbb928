package node

import (
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
)

// TestReadThroughPublishedDataset reads every file of a dataset its daemon
// published without keeping the data: each block is fetched from the origin
// on demand (once), and served correctly.
func TestReadThroughPublishedDataset(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	o := startOrigins(t, standardFiles)
	d := startDaemon(t, Config{AllowOrigins: []string{o.httpURL}})
	root := publish(ctx, t, d.c, api.PublishRequest{Origin: o.httpURL, NoStore: true})
	before := o.nginx.BytesSent()
	st, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Store.Bytes >= mib {
		t.Fatalf("a publish without store keeps %d bytes, want metadata only", st.Store.Bytes)
	}

	checkAllFiles(ctx, t, d.c, root, o.dir, o.files)
	checkRanges(ctx, t, d, root, o.dir, o.files)

	sent := o.nginx.BytesSent() - before
	if sent < o.dataSize || sent > o.dataSize+o.dataSize/20 {
		t.Errorf("reading the dataset through made nginx send %d bytes for %d: want 1.0x to 1.05x", sent, o.dataSize)
	}
	st, err = d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Store.Bytes < o.dataSize {
		t.Errorf("after reading everything the store holds %d bytes, want the %d-byte dataset kept", st.Store.Bytes, o.dataSize)
	}
	if st.BytesBySource.Origin != o.dataSize {
		t.Errorf("stats count %d bytes from the origin, want %d", st.BytesBySource.Origin, o.dataSize)
	}
}

// TestReadThroughAfterUnpin: a fresh daemon learns a dataset by pinning it
// through an origin other than the one it was published from, then unpins
// it and collects garbage (metadata blocks included). Reads must still work
// (fetching from the origin it learned the dataset through), and so must a
// second pin that names no origin.
func TestReadThroughAfterUnpin(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	o := startOrigins(t, standardFiles)
	pub := startDaemon(t, Config{AllowOrigins: []string{o.fileURL}})
	root := publish(ctx, t, pub.c, api.PublishRequest{Origin: o.fileURL, NoStore: true})
	if err := pub.stop(); err != nil {
		t.Fatal(err)
	}

	d := startDaemon(t, Config{AllowOrigins: []string{o.httpURL}})
	mustPin(ctx, t, d.c, root, o.httpURL)
	if err := d.c.Unpin(ctx, root); err != nil {
		t.Fatalf("unpin: %v", err)
	}
	if _, err := d.c.GC(ctx); err != nil {
		t.Fatalf("gc: %v", err)
	}
	st, err := d.c.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Store.Blocks != 0 {
		t.Fatalf("after unpin and gc the store holds %d blocks, want none", st.Store.Blocks)
	}

	before := o.nginx.BytesSent()
	checkAllFiles(ctx, t, d.c, root, o.dir, o.files)
	if sent := o.nginx.BytesSent() - before; sent < o.dataSize {
		t.Errorf("reads of blocks the daemon lacked made nginx send only %d of %d bytes", sent, o.dataSize)
	}

	// After a restart, the daemon still knows where to read the dataset.
	d = d.restart(nil)
	if _, err := d.c.GC(ctx); err != nil {
		t.Fatalf("gc: %v", err)
	}
	checkRanges(ctx, t, d, root, o.dir, o.files[:3])
	st2 := mustPin(ctx, t, d.c, root, "")
	if st2.BytesDone != o.dataSize {
		t.Errorf("second pin: %+v", st2)
	}
	checkAllFiles(ctx, t, d.c, root, o.dir, o.files)
}
