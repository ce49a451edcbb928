package prefetch

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/mem"
	"github.com/meshcache/meshcache/dataset"
	"github.com/meshcache/meshcache/origin"
)

func TestMain(m *testing.M) {
	dataset.ApplyProfile()
	os.Exit(m.Run())
}

const mib = 1 << 20

// testFiles has a file of several blocks and a partial one, a one-block
// file, a small one and an empty one, in nested folders.
var testFiles = map[string]int{
	"a.bin":       3*mib + 5,
	"b/c.bin":     mib,
	"b/empty":     0,
	"b/d/e f.txt": 100,
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// fixture is a folder published from file://, its CAR written beside it.
type fixture struct {
	dir    string
	url    string
	opener *origin.Opener
	meta   *mem.Store // holds the publish's metadata blocks
	root   cid.Cid
	rec    *dataset.Record
	data   map[string][]byte
}

func newFixture(t testing.TB, files map[string]int) *fixture {
	t.Helper()
	f := &fixture{dir: filepath.Join(t.TempDir(), "origin"), data: map[string][]byte{}}
	f.url = "file://" + f.dir
	for p, n := range files {
		h := fnv.New64a()
		h.Write([]byte(p))
		b := make([]byte, n)
		seed := binary.LittleEndian.AppendUint64(make([]byte, 24), h.Sum64())
		_, _ = rand.NewChaCha8([32]byte(seed)).Read(b)
		full := filepath.Join(f.dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
		f.data[p] = b
	}
	var err error
	if f.opener, err = origin.NewOpener(origin.Config{Allow: []string{f.url}, Logger: quiet()}); err != nil {
		t.Fatal(err)
	}
	if f.meta, err = mem.New(mem.Config{}); err != nil {
		t.Fatal(err)
	}
	o := f.origin(t)
	res, err := dataset.Publish(context.Background(), o, dataset.PublishOptions{Store: f.meta, NoStore: true})
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	f.root, f.rec = res.Root, res.Record
	return f
}

func (f *fixture) origin(t testing.TB) origin.Origin {
	t.Helper()
	o, err := f.opener.Open(context.Background(), f.url)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func (f *fixture) size() int64 { return f.rec.Size }

// index builds the dataset's index in a temp dir.
func (f *fixture) index(t testing.TB) *dataset.Index {
	t.Helper()
	idx, err := dataset.BuildIndex(context.Background(), t.TempDir(), f.rec, f.meta.Get)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return idx
}

// wants lists every leaf of idx.
func wants(t testing.TB, idx *dataset.Index) []Want {
	t.Helper()
	out := make([]Want, 0, idx.NumLeaves())
	for i := range idx.NumLeaves() {
		w, err := want(idx, i)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, w)
	}
	return out
}

// leafBytes is the bytes a want covers.
func (f *fixture) leafBytes(w Want) []byte {
	return f.data[w.File.Path][w.Offset : w.Offset+w.Size]
}

// memStore is a fresh memory block store.
func memStore(t testing.TB) blockstore.Store {
	t.Helper()
	s, err := mem.New(mem.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// read is one ReadRange seen by a recordingOrigin.
type read struct {
	path        string
	off, length int64
	version     origin.FileInfo
}

// recordingOrigin records its ReadRanges and, when gate is set, holds each
// after the first allow until gate closes or the read's context ends.
type recordingOrigin struct {
	origin.Origin
	gate  <-chan struct{}
	allow int64
	n     atomic.Int64
	held  atomic.Int64

	mu    sync.Mutex
	reads []read
}

func (r *recordingOrigin) ReadRange(ctx context.Context, p string, off, length int64, want origin.FileInfo) (io.ReadCloser, error) {
	if strings.HasPrefix(p, origin.MetaDir+"/") {
		// The CAR file: metadata, neither recorded nor held.
		return r.Origin.ReadRange(ctx, p, off, length, want)
	}
	r.mu.Lock()
	r.reads = append(r.reads, read{p, off, length, want})
	r.mu.Unlock()
	if r.gate != nil && r.n.Add(1) > r.allow {
		r.held.Add(1)
		select {
		case <-r.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return r.Origin.ReadRange(ctx, p, off, length, want)
}

func (r *recordingOrigin) seen() []read {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]read(nil), r.reads...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].path != out[j].path {
			return out[i].path < out[j].path
		}
		return out[i].off < out[j].off
	})
	return out
}

// startManager runs m until the test ends (or stop is called) and waits for
// Run to return.
func startManager(t testing.TB, m *Manager) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("Manager.Run did not return within 30s of cancellation")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("Manager.Run: %v", err)
		}
	})
	return stop
}

// newManager returns a Manager over store in dir reading origins through
// open (the fixture's opener when nil).
func newManager(t testing.TB, f *fixture, store blockstore.Store, dir string, open OpenOrigin) *Manager {
	t.Helper()
	if open == nil {
		open = func(ctx context.Context, u string) (origin.Origin, error) { return f.opener.Open(ctx, u) }
	}
	m, err := New(Config{Dir: dir, Store: store, Open: open, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// setProcs sets GOMAXPROCS for the rest of the test and restores it after.
func setProcs(t testing.TB, n int) {
	prev := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}
