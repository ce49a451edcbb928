package dataset

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/ipld/go-ipld-prime/codec/dagjson"
	"github.com/ipld/go-ipld-prime/node/basicnode"

	"github.com/meshcache/meshcache/origin"
)

func testRecord() *Record {
	mt := time.Date(2025, 3, 4, 5, 6, 7, 890, time.FixedZone("X", 3600))
	files := []origin.FileInfo{
		{Path: "a \"quoted\" \\ name<&>", Size: 1, ModTime: mt, ETag: `"abc"`},
		{Path: "dir/tab\there", Size: 0, ModTime: mt},
		{Path: "dir/日本語 ファイル", Size: ChunkSize + 1, ModTime: mt, VersionID: "v1"},
	}
	return &Record{
		Root:    cid.MustParse("bafybeifkgliizq4jbccsjlcoazdczhbd3ek5pot2vgaxatja7w5zdn7v3i"),
		Origin:  "s3://bucket/prefix",
		Profile: Profile,
		Files:   files,
		Size:    ChunkSize + 2,
	}
}

func TestRecordRoundTrip(t *testing.T) {
	rec := testRecord()
	b, err := EncodeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if b.Cid().Type() != cid.DagJSON || b.Cid().Version() != 1 {
		t.Fatalf("record CID %s, want a dag-json CIDv1", b.Cid())
	}
	got, err := DecodeRecord(b.RawData())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Root.Equals(rec.Root) || got.Origin != rec.Origin || got.Size != rec.Size || len(got.Files) != len(rec.Files) {
		t.Fatalf("decoded %+v, want %+v", got, rec)
	}
	for i, f := range got.Files {
		w := rec.Files[i]
		if f.Path != w.Path || f.Size != w.Size || !f.ModTime.Equal(w.ModTime) || f.ETag != w.ETag || f.VersionID != w.VersionID {
			t.Fatalf("file %d decoded %+v, want %+v", i, f, w)
		}
	}
	// The bytes are canonical dag-json: an IPLD implementation decodes
	// them (the root as a link) and encodes them back identically.
	nb := basicnode.Prototype.Any.NewBuilder()
	if err := dagjson.Decode(nb, bytes.NewReader(b.RawData())); err != nil {
		t.Fatalf("not dag-json: %v", err)
	}
	root, err := nb.Build().LookupByString("root")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.AsLink(); err != nil {
		t.Fatalf("root is not a dag-json link: %v", err)
	}
	var re bytes.Buffer
	if err := dagjson.Encode(nb.Build(), &re); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(re.Bytes(), b.RawData()) {
		t.Fatalf("not canonical:\n%s\nre-encoded:\n%s", b.RawData(), re.Bytes())
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	good, err := EncodeRecord(testRecord())
	if err != nil {
		t.Fatal(err)
	}
	s := string(good.RawData())
	for name, in := range map[string]string{
		"whitespace":     strings.Replace(s, `"origin":`, `"origin": `, 1),
		"version":        strings.Replace(s, `"version":1`, `"version":2`, 1),
		"unknown field":  strings.Replace(s, `"files":`, `"extra":1,"files":`, 1),
		"wrong size":     strings.Replace(s, `"size":1048578`, `"size":7`, 1),
		"wrong profile":  strings.Replace(s, Profile, "unixfs-v0-2015", 1),
		"bad root":       strings.Replace(s, `"root":{"/":"bafy`, `"root":{"/":"xafy`, 1),
		"truncated":      s[:len(s)-1],
		"trailing bytes": s + " ",
	} {
		if in == s {
			t.Fatalf("%s: the mutation did not apply", name)
		}
		if _, err := DecodeRecord([]byte(in)); err == nil {
			t.Errorf("%s: DecodeRecord accepted it", name)
		}
	}
}

func TestCheckFiles(t *testing.T) {
	f := func(paths ...string) []origin.FileInfo {
		var out []origin.FileInfo
		for _, p := range paths {
			out = append(out, origin.FileInfo{Path: p, Size: 1})
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		files []origin.FileInfo
		ok    bool
	}{
		{"single file", f(""), true},
		{"tree", f("a", "b/c", "b/d/e"), true},
		{"path order, not directory order", f("x-y", "x.txt", "x/y", "x0"), true},
		{"none", nil, false},
		{"empty path beside others", f("", "a"), false},
		{"unsorted", f("b", "a"), false},
		{"duplicate", f("a", "a"), false},
		{"file and directory", f("a", "a.txt", "a/b"), false},
		{"absolute", f("/a"), false},
		{"dot-dot", f("a/../b"), false},
		{"empty component", f("a//b"), false},
		{"trailing slash", f("a/"), false},
		{"invalid UTF-8", f("\xff"), false},
		{"negative size", []origin.FileInfo{{Path: "a", Size: -1}}, false},
	} {
		if _, err := checkFiles(tc.files); (err == nil) != tc.ok {
			t.Errorf("%s: checkFiles = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	good, err := EncodeRecord(testRecord())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good.RawData())
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		rec, err := DecodeRecord(in)
		if err != nil {
			return
		}
		// Whatever is accepted encodes back to the same bytes.
		b, err := EncodeRecord(rec)
		if err != nil || !bytes.Equal(b.RawData(), in) {
			t.Fatalf("accepted %q but encodes back to %q (%v)", in, b.RawData(), err)
		}
	})
}
