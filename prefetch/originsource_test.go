package prefetch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/origin"
)

// fetchAll fetches want from s and returns the blocks it delivered.
func fetchAll(s *OriginSource, want []Want) (map[cid.Cid][]byte, error) {
	var mu sync.Mutex
	got := map[cid.Cid][]byte{}
	err := s.Fetch(context.Background(), want, func(w Want, b blocks.Block) error {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := got[b.Cid()]; dup {
			return errors.New("delivered twice: " + b.Cid().String())
		}
		got[b.Cid()] = b.RawData()
		return nil
	})
	return got, err
}

// TestOriginSourceCoalescesAndVerifies reads a dataset's leaves from a real
// file:// origin: neighbouring blocks of a file come in one ranged read (up
// to MaxRange), and every block delivered is the file's bytes.
func TestOriginSourceCoalescesAndVerifies(t *testing.T) {
	f := newFixture(t, testFiles)
	all := wants(t, f.index(t))
	rec := &recordingOrigin{Origin: f.origin(t)}
	s := NewOriginSource(rec, f.rec.Origin, OriginConfig{MaxRange: 2 * mib})
	got, err := fetchAll(s, all)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	for _, w := range all {
		if !bytes.Equal(got[w.CID], f.leafBytes(w)) {
			t.Errorf("leaf %d (%s at %d) is not the file's bytes", w.Leaf, w.File.Path, w.Offset)
		}
	}
	want := []read{{path: "a.bin", off: 0, length: 2 * mib}, {path: "a.bin", off: 2 * mib, length: mib + 5}, {path: "b/c.bin", length: mib}, {path: "b/d/e f.txt", length: 100}}
	seen := rec.seen()
	if len(seen) != len(want) {
		t.Fatalf("ranged reads %+v, want %+v", seen, want)
	}
	for i := range want {
		if seen[i].path != want[i].path || seen[i].off != want[i].off || seen[i].length != want[i].length {
			t.Errorf("read %d: %s [%d+%d], want %s [%d+%d]", i, seen[i].path, seen[i].off, seen[i].length, want[i].path, want[i].off, want[i].length)
		}
	}
}

// TestOriginSourceRefusesWrongBytes: a block whose bytes changed at the
// origin (same size and mtime, so no version check notices) is an
// integrity error naming the origin and the file, is not delivered, and
// costs its neighbours in the same range nothing.
func TestOriginSourceRefusesWrongBytes(t *testing.T) {
	f := newFixture(t, testFiles)
	all := wants(t, f.index(t))
	path := filepath.Join(f.dir, "a.bin")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), f.data["a.bin"]...)
	bad[mib+3] ^= 1
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	got, err := fetchAll(NewOriginSource(f.origin(t), f.rec.Origin, OriginConfig{}), all)
	if !errors.Is(err, ErrIntegrity) || !strings.Contains(err.Error(), f.url) || !strings.Contains(err.Error(), "a.bin") {
		t.Fatalf("fetch of a corrupted block: %v, want an integrity error naming %s and a.bin", err, f.url)
	}
	for _, w := range all {
		_, ok := got[w.CID]
		if wantOK := !(w.File.Path == "a.bin" && w.Offset == mib); ok != wantOK {
			t.Errorf("leaf %d (%s at %d) delivered %v, want %v", w.Leaf, w.File.Path, w.Offset, ok, wantOK)
		}
	}
}

// TestOriginSourceOriginChanged: a file whose size changed after publish
// fails with origin.ErrChanged naming it, and its blocks are not delivered.
func TestOriginSourceOriginChanged(t *testing.T) {
	f := newFixture(t, testFiles)
	all := wants(t, f.index(t))
	if err := os.WriteFile(filepath.Join(f.dir, "b", "c.bin"), []byte("shorter now"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := fetchAll(NewOriginSource(f.origin(t), f.rec.Origin, OriginConfig{}), all)
	if !errors.Is(err, origin.ErrChanged) || !strings.Contains(err.Error(), "b/c.bin") {
		t.Fatalf("fetch from a changed file: %v, want origin changed naming b/c.bin", err)
	}
	for _, w := range all {
		if _, ok := got[w.CID]; ok == (w.File.Path == "b/c.bin") {
			t.Errorf("leaf %d of %s delivered: %v", w.Leaf, w.File.Path, ok)
		}
	}
}

// TestOriginSourceVersionPinning: the record's ETag and versionId are sent
// only when reading the very origin published from, however its URL is
// spelled; another origin serving the same bytes has its own ETags.
func TestOriginSourceVersionPinning(t *testing.T) {
	f := newFixture(t, map[string]int{"x.bin": 1000})
	all := wants(t, f.index(t))
	for i := range all {
		// A file:// origin has no ETags; these stand for an HTTP or S3
		// publish's. A file:// read ignores them.
		all[i].File.ETag, all[i].File.VersionID = `"etag-1"`, "v1"
	}
	cases := []struct {
		publishedFrom string
		strong        bool
	}{
		{f.rec.Origin, true},
		{f.url + "/", true},
		{"file://localhost" + f.dir, true},
		{"file://" + f.dir + "/./sub/..", true},
		{"file://" + f.dir + "-other", false},
		{"http://127.0.0.1:8080/", false},
		{"s3://bucket/prefix", false},
		{"", false},
	}
	for _, tc := range cases {
		t.Run(tc.publishedFrom, func(t *testing.T) {
			rec := &recordingOrigin{Origin: f.origin(t)}
			if _, err := fetchAll(NewOriginSource(rec, tc.publishedFrom, OriginConfig{}), all); err != nil {
				t.Fatalf("fetch: %v", err)
			}
			for _, r := range rec.seen() {
				if sent := r.version.ETag != "" || r.version.VersionID != ""; sent != tc.strong {
					t.Errorf("published from %q, read from %s: sent version %+v, want ETag and versionId %v", tc.publishedFrom, rec.URL(), r.version, tc.strong)
				}
				if r.version.Size != all[0].File.Size || !r.version.ModTime.Equal(all[0].File.ModTime) {
					t.Errorf("size and mtime must always be checked: sent %+v", r.version)
				}
			}
		})
	}
}
