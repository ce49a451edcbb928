package dataset

import (
	"testing"

	"github.com/meshcache/meshcache/origin"
)

// TestPublishThroughFileOrigin publishes through origin's real file://
// implementation: the root is Kubo's, the CAR file lands beside the data
// and reads back through the same origin.
func TestPublishThroughFileOrigin(t *testing.T) {
	c := findCase(t, "nested")
	dir := writeCase(t, c).root
	op, err := origin.NewOpener(origin.Config{Allow: []string{"file://" + dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Close()
	o, err := op.Open(t.Context(), "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	bs := newMemStore()
	res, err := Publish(t.Context(), o, PublishOptions{Store: bs})
	if err != nil {
		t.Fatal(err)
	}
	if want := goldenRoot(t, c.Name); !res.Root.Equals(want) {
		t.Fatalf("root %s, Kubo gives %s", res.Root, want)
	}
	if res.CARPath == "" {
		t.Fatal("no CAR file written to a file:// origin")
	}
	fi, err := o.Stat(t.Context(), res.CARPath)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := o.ReadRange(t.Context(), res.CARPath, 0, fi.Size, fi)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rec, blks, err := ReadCAR(rc, res.Root)
	if err != nil {
		t.Fatal(err)
	}
	if len(blks) != len(res.MetadataBlocks) || len(rec.Files) != len(c.Files) || rec.Origin != o.URL() {
		t.Fatalf("CAR: %d blocks, %d files, origin %q", len(blks), len(rec.Files), rec.Origin)
	}
	// Publishing again ignores the CAR file now in .meshcache/.
	again, err := Publish(t.Context(), o, PublishOptions{Store: newMemStore(), NoCAR: true})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Root.Equals(res.Root) {
		t.Fatalf("second publish gives %s, first %s", again.Root, res.Root)
	}
}
