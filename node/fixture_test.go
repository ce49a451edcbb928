package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
)

const mib = 1 << 20

// fixtureFile is one file of a test folder.
type fixtureFile struct {
	Path string
	Size int64
}

// standardFiles covers the shapes the issue lists: empty files (at the top
// and nested), smaller than a block, exactly one block, not a multiple of
// the block size, nested folders, and names with spaces, non-ASCII letters
// and URL-special characters.
var standardFiles = []fixtureFile{
	{"empty.txt", 0},
	{"small.bin", 1000},
	{"exact 1MiB.bin", mib},
	{"two blocks plus 7.bin", 2*mib + 7},
	{"odd.bin", 3*mib - 12345},
	{"plus+sign & percent%.txt", 4321},
	{"nested/Zürich été.csv", 70_000},
	{"nested/deeper/empty too", 0},
	{"nested/deeper/naïve café ñ.txt", 5000},
	{"nested/deeper/日本語 データ.bin", mib + 1},
	{"with space/file with space.bin", 300_000},
}

// sizeOf is the total size of files.
func sizeOf(files []fixtureFile) int64 {
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// writeFixture writes files under dir. Every file's bytes come from a
// generator seeded by its path, so no two blocks anywhere are equal.
func writeFixture(t testing.TB, dir string, files []fixtureFile) {
	t.Helper()
	for _, f := range files {
		seed := fnv.New64a()
		seed.Write([]byte(f.Path))
		writeGenerated(t, filepath.Join(dir, filepath.FromSlash(f.Path)), f.Size, randomFill(seed.Sum64()))
	}
}

// randomFill fills buffers from a generator seeded with seed.
func randomFill(seed uint64) func(block int64, buf []byte) {
	r := rand.NewChaCha8([32]byte(binary.LittleEndian.AppendUint64(make([]byte, 24), seed)))
	return func(_ int64, buf []byte) { _, _ = r.Read(buf) }
}

// stampFill makes every block distinct cheaply: zeros with the block's index
// stamped at its start and its end, so a block read at the wrong offset or
// out of order is caught.
func stampFill(block int64, buf []byte) {
	clear(buf)
	binary.BigEndian.PutUint64(buf, uint64(block))
	if len(buf) >= 16 {
		binary.BigEndian.PutUint64(buf[len(buf)-8:], uint64(block)^0xa5a5a5a5a5a5a5a5)
	}
}

// writeGenerated writes size bytes to path, one block-sized buffer at a time
// filled by fill.
func writeGenerated(t testing.TB, path string, size int64, fill func(block int64, buf []byte)) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, mib)
	buf := make([]byte, mib)
	for block := int64(0); block*mib < size; block++ {
		n := min(mib, size-block*mib)
		fill(block, buf[:n])
		if _, err := w.Write(buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// fileSum is the SHA-256 of a file on disk.
func fileSum(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// fileBytes returns bytes [off, off+n) of a file on disk.
func fileBytes(t testing.TB, path string, off, n int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatalf("read %s [%d, %d): %v", path, off, off+n, err)
	}
	return b
}

// checkAllFiles reads every file of the fixture through the daemon and
// compares its SHA-256 with the file at the origin folder dir.
func checkAllFiles(ctx context.Context, t testing.TB, c *api.Client, root cid.Cid, dir string, files []fixtureFile) {
	t.Helper()
	for _, f := range files {
		rc, err := c.Open(ctx, root, f.Path)
		if err != nil {
			t.Errorf("open %q: %v", f.Path, err)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Errorf("read %q: %v after %d bytes", f.Path, err, n)
			continue
		}
		if n != f.Size {
			t.Errorf("read %q: %d bytes, want %d", f.Path, n, f.Size)
		}
		if got, want := [32]byte(h.Sum(nil)), fileSum(t, filepath.Join(dir, filepath.FromSlash(f.Path))); got != want {
			t.Errorf("read %q: SHA-256 %x, origin's %x", f.Path, got[:8], want[:8])
		}
	}
}

// readRange reads bytes [off, off+n) of a file through the daemon.
func readRange(ctx context.Context, t testing.TB, c *api.Client, root cid.Cid, path string, off, n int64) []byte {
	t.Helper()
	rc, err := c.OpenRange(ctx, root, path, off, n)
	if err != nil {
		t.Fatalf("open %q [%d, %d): %v", path, off, off+n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q [%d, %d): %v", path, off, off+n, err)
	}
	return b
}

// checkRanges reads ranges around every block boundary of the files (and
// from the end, as suffix ranges) and compares them with the origin folder.
func checkRanges(ctx context.Context, t testing.TB, d *testDaemon, root cid.Cid, dir string, files []fixtureFile) {
	t.Helper()
	for _, f := range files {
		local := filepath.Join(dir, filepath.FromSlash(f.Path))
		for _, r := range boundaryRanges(f.Size) {
			got := readRange(ctx, t, d.c, root, f.Path, r[0], r[1])
			if want := fileBytes(t, local, r[0], r[1]); !bytes.Equal(got, want) {
				t.Errorf("%q bytes [%d, %d): %d bytes differ from the origin's %d", f.Path, r[0], r[0]+r[1], len(got), len(want))
			}
		}
		if f.Size == 0 {
			continue
		}
		for _, n := range []int64{1, 10, min(f.Size, mib+10)} {
			n = min(n, f.Size)
			u := "/v1/fs/" + api.Canonical(root) + "/" + escapePath(f.Path)
			resp := d.rawRequest(t, http.MethodGet, u, "", http.Header{"Range": {"bytes=-" + itoa(n)}})
			if resp.Status != http.StatusPartialContent {
				t.Errorf("%q suffix range of %d: status %d: %s", f.Path, n, resp.Status, resp.Body)
				continue
			}
			if want := fileBytes(t, local, f.Size-n, n); !bytes.Equal(resp.Body, want) {
				t.Errorf("%q last %d bytes differ from the origin's", f.Path, n)
			}
		}
	}
}

// boundaryRanges lists (offset, length) pairs that straddle each block
// boundary of a file of size bytes, plus its first and last bytes.
func boundaryRanges(size int64) [][2]int64 {
	if size == 0 {
		return nil
	}
	out := [][2]int64{{0, 1}, {size - 1, 1}}
	for b := int64(mib); b < size; b += mib {
		lo, hi := max(0, b-10), min(size, b+10)
		out = append(out, [2]int64{lo, hi - lo})
	}
	if size >= 2*mib+10 {
		// one range over two whole boundaries
		out = append(out, [2]int64{mib - 10, mib + 20})
	}
	return out
}

// fixturePaths lists the fixture's paths, sorted.
func fixturePaths(files []fixtureFile) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	sort.Strings(out)
	return out
}
