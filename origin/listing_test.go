package origin

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// datasetFiles is the shared test folder's regular files. Names cover
// nesting, spaces, non-ASCII letters, URL-special characters, byte order
// ("a-c" < "a.bin" < "a/z"), empty files and .meshcache folders.
func datasetFiles() map[string][]byte {
	return map[string][]byte{
		"a.bin":                      randomBytes(1, 1000),
		"a-c.bin":                    randomBytes(2, 10),
		"a/z.bin":                    randomBytes(3, 20),
		"B.txt":                      []byte("upper"),
		"nested/deeper/x.bin":        randomBytes(4, 5000),
		"nested/empty2":              nil,
		"with space/file name.txt":   []byte("hello"),
		"ünïcödé/日本語 ファイル.txt":       []byte("konnichiwa"),
		"odd/a+b%20c#d?;e=f&g.txt":   []byte("odd characters"),
		"empty.bin":                  nil,
		".meshcache/meta.car":        []byte("car"),
		"nested/.meshcache/meta.car": []byte("inner car"),
	}
}

// sharedFolder builds the test folder at top/ds with symlinks inside and
// out, plus an empty directory tree; it returns ds.
func sharedFolder(t *testing.T, top string) string {
	t.Helper()
	ds := filepath.Join(top, "ds")
	writeFiles(t, ds, datasetFiles())
	outside := filepath.Join(top, "outside")
	writeFiles(t, outside, map[string][]byte{"secret.txt": []byte("secret")})
	if err := os.MkdirAll(filepath.Join(ds, "emptydir", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"link-in":     "nested/deeper/x.bin",
		"dirlink-in":  "with space",
		"dangling":    "does-not-exist",
		"link-out":    "../outside/secret.txt",
		"dirlink-out": outside,
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(ds, name)); err != nil {
			t.Fatal(err)
		}
	}
	return ds
}

// expectedListing is what a directory walk of sharedFolder must give: the
// regular files outside .meshcache plus the symlinks that stay inside.
func expectedListing(t *testing.T, ds string) []FileInfo {
	t.Helper()
	var out []FileInfo
	add := func(rel, real string) {
		st, err := os.Stat(filepath.Join(ds, real))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, FileInfo{Path: rel, Size: st.Size(), ModTime: st.ModTime()})
	}
	for p := range datasetFiles() {
		if !strings.Contains(p, MetaDir) {
			add(p, p)
		}
	}
	add("link-in", "nested/deeper/x.bin")
	add("dirlink-in/file name.txt", "with space/file name.txt")
	slices.SortFunc(out, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func TestListingIsTheSameFromFileNginxAndS3(t *testing.T) {
	top := t.TempDir()
	ds := sharedFolder(t, top)
	want := expectedListing(t, ds)
	ng := testenv.StartNginx(t, top)
	s3 := testenv.StartS3(t, filepath.Join(top, "s3"))
	if err := os.MkdirAll(filepath.Join(s3.Dir, "bkt"), 0o755); err != nil {
		t.Fatal(err)
	}
	op, _ := newOpener(t, func(c *Config) {
		c.Allow = []string{"file://" + top, ng.URL(), "s3://bkt"}
		c.S3 = s3Config(s3)
	})
	ctx := context.Background()

	fileO := mustOpen(t, op, "file://"+ds)
	got, err := fileO.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	samePathsAndSizes(t, "file://", got, want, true)

	// nginx serves whatever its root reaches, symlinks leading out of the
	// prefix included (restricting that is the server's disable_symlinks).
	httpO := mustOpen(t, op, ng.URL()+"ds")
	got, err = httpO.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(top, "outside", "secret.txt"))
	nginxWant := append(slices.Clone(want),
		FileInfo{Path: "link-out", Size: st.Size(), ModTime: st.ModTime()},
		FileInfo{Path: "dirlink-out/secret.txt", Size: st.Size(), ModTime: st.ModTime()})
	slices.SortFunc(nginxWant, func(a, b FileInfo) int { return strings.Compare(a.Path, b.Path) })
	samePathsAndSizes(t, "nginx", got, nginxWant, true)

	// S3 gets the folder as `aws s3 sync` would put it (versitygw's posix
	// backend lists symlinks with the link's own size), .meshcache objects
	// and a folder marker included; its listing must leave those out.
	s3O := mustOpen(t, op, "s3://bkt/ds")
	uploadListing(t, fileO, s3O, want)
	for _, p := range []string{".meshcache/meta.car", "nested/.meshcache/meta.car"} {
		if err := WriteFile(ctx, s3O, p, strings.NewReader("car"), 3); err != nil {
			t.Fatal(err)
		}
	}
	putFolderMarker(t, s3, "bkt", "ds/emptydir/")
	got, err = s3O.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	samePathsAndSizes(t, "s3", got, want, false)
	for _, f := range got {
		if f.ETag == "" {
			t.Fatalf("s3 listing has no ETag for %s", f.Path)
		}
	}
}

// uploadListing copies files from one origin to a writable one.
func uploadListing(t *testing.T, from, to Origin, files []FileInfo) {
	t.Helper()
	for _, f := range files {
		rc, err := from.ReadRange(context.Background(), f.Path, 0, f.Size, f)
		if err != nil {
			t.Fatal(err)
		}
		err = WriteFile(context.Background(), to, f.Path, rc, f.Size)
		rc.Close()
		if err != nil {
			t.Fatalf("upload %s: %v", f.Path, err)
		}
	}
}

func putFolderMarker(t *testing.T, s *testenv.S3, bucket, key string) {
	t.Helper()
	c, err := minio.New(s.HostPort, &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Region: s.Region, BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(context.Background(), bucket, key, bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put folder marker: %v", err)
	}
}

func TestFileListingFollowsSymlinksOnlyInsideAndSurvivesLoops(t *testing.T) {
	top := t.TempDir()
	ds := sharedFolder(t, top)
	// Loops: a link to the root, a link to its own directory, and two
	// directories pointing at each other.
	for name, target := range map[string]string{
		"loop/up":   "..",
		"loop/self": ".",
		"ping/pong": "../pong",
		"pong/ping": "../ping",
	} {
		if err := os.MkdirAll(filepath.Join(ds, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(ds, name)); err != nil {
			t.Fatal(err)
		}
	}
	op, _ := newOpener(t, func(c *Config) { c.Allow = []string{"file://" + top} })
	o := mustOpen(t, op, "file://"+ds)
	got, err := o.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	samePathsAndSizes(t, "file:// with loops", got, expectedListing(t, ds), true)

	for _, p := range []string{"link-out", "dirlink-out/secret.txt"} {
		_, err := o.Stat(context.Background(), p)
		requireKind(t, err, ErrNotAllowed, "outside the origin", p)
		_, err = o.ReadRange(context.Background(), p, 0, 1, FileInfo{Path: p, Size: 6})
		requireKind(t, err, ErrNotAllowed, p)
	}
	_, err = o.Stat(context.Background(), "dangling")
	requireKind(t, err, ErrNotFound, "dangling")
}

func TestNginxSymlinkLoopFailsTheListingClearly(t *testing.T) {
	top := t.TempDir()
	writeFiles(t, top, map[string][]byte{"ds/f": []byte("x")})
	if err := os.Symlink("..", filepath.Join(top, "ds", "up")); err != nil {
		t.Fatal(err)
	}
	ng := testenv.StartNginx(t, top)
	op, _ := newOpener(t, func(c *Config) { c.Allow = []string{ng.URL()} })
	_, err := mustOpen(t, op, ng.URL()+"ds").List(context.Background())
	requireKind(t, err, ErrBadResponse, "deeper than", "symlink loop")
}

func TestHTTPListingNeedsJSONAutoindexOrAFileList(t *testing.T) {
	root := t.TempDir()
	files := map[string][]byte{"d/one.bin": randomBytes(5, 300), "d/sub dir/twö.bin": randomBytes(6, 70)}
	writeFiles(t, root, files)
	// Go's file server lists directories as HTML, like most servers.
	srv := httptest.NewServer(http.FileServer(http.Dir(root)))
	t.Cleanup(srv.Close)
	ng := testenv.StartNginx(t, root)
	op, _ := newOpener(t, func(c *Config) { c.Allow = []string{srv.URL, ng.URL()} })

	_, err := mustOpen(t, op, srv.URL+"/d").List(context.Background())
	requireKind(t, err, ErrBadResponse, "not JSON", "autoindex_format json", "--files")

	list := []string{"sub dir/twö.bin", "one.bin", "one.bin"}
	for _, base := range []string{srv.URL + "/d", ng.URL() + "d"} {
		o := mustOpen(t, op, base, WithFiles(list))
		got, err := o.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(paths(got), ",") != "one.bin,sub dir/twö.bin" {
			t.Fatalf("%s: listing %v", base, paths(got))
		}
		for _, f := range got {
			if f.Size != int64(len(files["d/"+f.Path])) || f.ModTime.IsZero() {
				t.Fatalf("%s: %+v", base, f)
			}
		}
		if base != srv.URL+"/d" && got[0].ETag == "" {
			t.Fatalf("nginx gives strong ETags; listing has none: %+v", got[0])
		}
	}
	_, err = mustOpen(t, op, ng.URL()+"d", WithFiles([]string{"missing.bin"})).List(context.Background())
	requireKind(t, err, ErrNotFound, "missing.bin")
}

func TestParseFileList(t *testing.T) {
	cases := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "a\nb c/d é\r\n\n# comment\n  \n", want: []string{"a", "b c/d é"}},
		{in: "", want: nil},
		{in: "/abs", wantErr: true},
		{in: "a/../b", wantErr: true},
		{in: "a//b", wantErr: true},
		{in: "a/", wantErr: true},
	}
	for _, c := range cases {
		got, err := ParseFileList(strings.NewReader(c.in))
		if (err != nil) != c.wantErr || !slices.Equal(got, c.want) {
			t.Errorf("ParseFileList(%q) = %q, %v; want %q, error %v", c.in, got, err, c.want, c.wantErr)
		}
	}
}
