package node

import (
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
)

// TestMeshPinRightAfterStart: a daemon asked to pin the moment it starts,
// before its bootstrap peer has even answered, still takes every block
// from the holders: an empty holder lookup made before it knows any member
// means "not connected yet", not "no holder", and must not send the pin to
// the origin. (A restarted daemon resuming its pins is in this position.)
func TestMeshPinRightAfterStart(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	key := writeKey(t)
	dir := t.TempDir()
	files := append([]fixtureFile{{"shard-a.bin", 6*mib + 5}}, standardFiles...)
	writeFixture(t, dir, files)
	originURL := "file://" + dir
	a := originMember(t, key, originURL)
	idA, err := a.c.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	root := publish(ctx, t, a.c, api.PublishRequest{Origin: originURL})
	mustPin(ctx, t, a.c, root, "")
	// The holder record is in the DHT before the newcomer starts.
	waitHolders(ctx, t, originMember(t, key, originURL, idA.Addrs[0]), root)

	for i := range 2 {
		b := originMember(t, key, originURL, idA.Addrs[0])
		st := mustPin(ctx, t, b.c, root, originURL)
		if st.BySource.Origin != 0 || st.BySource.Peer != sizeOf(files) {
			t.Fatalf("newcomer %d pinned %+v: want all %d bytes from peers, none from the origin", i+1, st.BySource, sizeOf(files))
		}
		checkAllFiles(ctx, t, b.c, root, dir, files)
	}
}
