package main

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

const mib = 1 << 20

// fixture is a dataset published once for the whole package: its files
// (the origin folder, which nginx serves in each test) and its root CID.
type fixture struct {
	dir   string           // origin folder; publish wrote .meshcache/<root>.car into it
	files map[string]int64 // path (slash-separated) -> size
	sums  map[string][32]byte
	size  int64 // bytes of file data
	car   int64 // bytes of the CAR file publish wrote
	root  cid.Cid
}

// sharedFixture is the package's one fixture, built by the first test that
// needs it and removed by TestMain.
type sharedFixture struct {
	once sync.Once
	fx   *fixture
	err  error
	dirs []string
}

var shared sharedFixture

func (s *sharedFixture) cleanup() {
	for _, d := range s.dirs {
		os.RemoveAll(d)
	}
}

// datasetFiles is the fixture's shape, about 200 MiB: files of many blocks
// (with and without a partial last block), a file of exactly whole blocks,
// shards of several blocks, small files, an empty one, nested folders and
// names with spaces and non-ASCII letters.
func datasetFiles() map[string]int64 {
	files := map[string]int64{
		"big/a.bin":             40*mib + 123,
		"big/b.bin":             33*mib - 7,
		"big/exact.bin":         24 * mib,
		"README.md":             1234,
		"empty.txt":             0,
		"labels/classes.txt":    4096,
		"labels/Zürich été.csv": 70_000,
		"deep/er/still/x.json":  mib + 1,
	}
	for i := range 10 {
		files[fmt.Sprintf("train/shard-%03d.bin", i)] = int64(9*mib + i*mib/3 + 17*i)
	}
	for i := range 24 {
		files[fmt.Sprintf("small/item-%02d.bin", i)] = int64(500 + i*12_345)
	}
	return files
}

// getFixture returns the published dataset, building it on first use.
func getFixture(t testing.TB) *fixture {
	t.Helper()
	shared.once.Do(func() { shared.fx, shared.err = buildFixture(t) })
	if shared.err != nil {
		t.Fatalf("build the shared dataset: %v", shared.err)
	}
	return shared.fx
}

func buildFixture(t testing.TB) (*fixture, error) {
	dir, err := os.MkdirTemp("", "meshcache-origin-")
	if err != nil {
		return nil, err
	}
	shared.dirs = append(shared.dirs, dir)
	fx := &fixture{dir: dir, files: datasetFiles(), sums: map[string][32]byte{}}
	rng := rand.NewChaCha8([32]byte{7})
	for rel, n := range fx.files {
		data := make([]byte, n)
		rng.Read(data)
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		fx.sums[rel] = sha256.Sum256(data)
		fx.size += n
	}
	// Publish with a daemon of its own, through the command line, as a
	// data owner does.
	work, err := os.MkdirTemp("", "meshcache-pub-")
	if err != nil {
		return nil, err
	}
	shared.dirs = append(shared.dirs, work)
	d := startDaemon(t, daemonOpts{data: filepath.Join(work, "data"), sock: filepath.Join(work, "s"), allow: []string{"file://" + dir}})
	out, errOut, code := mc(t, nil, "--socket", d.sock, "publish", "file://"+dir)
	d.term(10 * time.Second)
	if code != 0 {
		return nil, fmt.Errorf("publish: exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if fx.root, err = cid.Decode(lines[len(lines)-1]); err != nil {
		return nil, fmt.Errorf("publish printed %q, want the root CID last: %w", out, err)
	}
	st, err := os.Stat(filepath.Join(dir, ".meshcache", fx.root.String()+".car"))
	if err != nil {
		return nil, fmt.Errorf("publish wrote no CAR file: %w", err)
	}
	fx.car = st.Size()
	return fx, nil
}

// paths are the fixture's file paths, sorted.
func (fx *fixture) paths() []string {
	out := make([]string, 0, len(fx.files))
	for p := range fx.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// leaves is the number of leaf blocks in the dataset's index (an empty
// file has none).
func (fx *fixture) leaves() int64 {
	var n int64
	for _, s := range fx.files {
		n += (s + mib - 1) / mib
	}
	return n
}
