package node

import (
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
)

// setProcs sets GOMAXPROCS for the rest of the test and restores it after.
func setProcs(t testing.TB, n int) {
	prev := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// TestPublishSameRootFromEveryOrigin publishes one folder through file://,
// nginx and S3, with one and with two cores: the root must not depend on
// where the bytes came from nor on how the work was scheduled.
func TestPublishSameRootFromEveryOrigin(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	o := startOrigins(t, standardFiles)
	d := startDaemon(t, o.config())

	type run struct {
		origin string
		procs  int
		root   cid.Cid
	}
	var runs []run
	for _, procs := range []int{1, 2} {
		t.Run(fmt.Sprintf("GOMAXPROCS=%d", procs), func(t *testing.T) {
			setProcs(t, procs)
			for _, u := range []string{o.fileURL, o.httpURL, o.s3URL} {
				st, err := d.c.Publish(ctx, api.PublishRequest{Origin: u})
				if err == nil {
					st, err = d.c.WaitPublish(ctx, st.ID, 20*time.Millisecond, nil)
				}
				if err != nil {
					t.Fatalf("publish %s with GOMAXPROCS %d: %v", u, procs, err)
				}
				if st.FilesTotal != int64(len(o.files)) || st.BytesTotal != o.dataSize {
					t.Errorf("publish %s: %d files, %d bytes; want %d, %d", u, st.FilesTotal, st.BytesTotal, len(o.files), o.dataSize)
				}
				runs = append(runs, run{u, procs, cid.Cid(st.Root)})
			}
		})
	}
	if len(runs) != 6 {
		t.Fatalf("%d publishes finished, want 6", len(runs))
	}
	for _, r := range runs[1:] {
		if !r.root.Equals(runs[0].root) {
			t.Errorf("root from %s with GOMAXPROCS %d is %s; from %s with %d it is %s",
				r.origin, r.procs, r.root, runs[0].origin, runs[0].procs, runs[0].root)
		}
	}
	// The dataset holds exactly the fixture's files.
	root := runs[0].root
	var got []string
	var walk func(p string)
	walk = func(p string) {
		dir, err := d.c.ReadDir(ctx, root, p)
		if err != nil {
			t.Fatalf("list %q: %v", p, err)
		}
		for _, e := range dir.Entries {
			full := e.Name
			if p != "" {
				full = p + "/" + e.Name
			}
			if e.Type == api.TypeDir {
				walk(full)
				continue
			}
			got = append(got, full)
		}
	}
	walk("")
	slices.Sort(got)
	if want := fixturePaths(o.files); !slices.Equal(got, want) {
		t.Errorf("dataset lists %q, want %q", got, want)
	}
}
