package prefetch_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/origin"
	"github.com/meshcache/meshcache/prefetch"
)

// BenchmarkOriginSource fetches every block of a folder through an
// OriginSource over a file:// origin (coalesced ranged reads, each block
// verified against its CID) and, in the same iterations, interleaved as
// this machine is noisy, reads the same files directly: 1 MiB reads into
// fresh buffers, each hashed with sha256 on one core (the same work with
// none of the machinery and no parallelism). It reports both rates and
// their ratio; "read-only-MB/s" is the direct read without hashing (the
// page cache's pace). The files are read once first, so the page cache
// holds them.
//
//	go test -run '^$' -bench BenchmarkOriginSource -benchtime 10x ./prefetch/
func BenchmarkOriginSource(b *testing.B) {
	for _, bc := range []struct {
		name  string
		files map[string]int64
	}{
		{"one-64MiB-file", map[string]int64{"big.bin": 64 << 20}},
		{"256-files-128KiB", smallFiles(256, 128<<10)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			var total int64
			for p, size := range bc.files {
				writeBenchFile(b, filepath.Join(dir, p), size)
				total += size
			}
			o := openFileOrigin(b, dir)
			want := benchWants(b, o, dir)
			src := prefetch.NewOriginSource(o, o.URL(), prefetch.OriginConfig{})
			readDirect(b, dir, want, false) // warm the page cache
			b.SetBytes(total)
			var tSrc, tDirect, tRead time.Duration
			for b.Loop() {
				t0 := time.Now()
				readDirect(b, dir, want, true)
				t1 := time.Now()
				fetchAll(b, src, want, total)
				t2 := time.Now()
				readDirect(b, dir, want, false)
				tDirect += t1.Sub(t0)
				tSrc += t2.Sub(t1)
				tRead += time.Since(t2)
			}
			rate := func(d time.Duration) float64 { return float64(total) * float64(b.N) / d.Seconds() / 1e6 }
			b.ReportMetric(rate(tSrc), "source-MB/s")
			b.ReportMetric(rate(tDirect), "direct+sha256-MB/s")
			b.ReportMetric(rate(tRead), "read-only-MB/s")
			b.ReportMetric(rate(tSrc)/rate(tDirect), "ratio")
		})
	}
}

func smallFiles(n int, size int64) map[string]int64 {
	out := map[string]int64{}
	for i := range n {
		out[fmt.Sprintf("d%d/f%03d.bin", i/64, i)] = size
	}
	return out
}

func writeBenchFile(b *testing.B, path string, size int64) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	rng := rand.New(rand.NewPCG(uint64(size), uint64(len(path))))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	copy(data, path) // distinct files of equal size
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

func openFileOrigin(b *testing.B, dir string) origin.Origin {
	b.Helper()
	op, err := origin.NewOpener(origin.Config{Allow: []string{"file://" + dir}})
	if err != nil {
		b.Fatal(err)
	}
	o, err := op.Open(context.Background(), "file://"+dir)
	if err != nil {
		b.Fatal(err)
	}
	return o
}

// benchWants lists every 1 MiB block of the origin's files with its CID,
// as a dataset index would.
func benchWants(b *testing.B, o origin.Origin, dir string) []prefetch.Want {
	b.Helper()
	files, err := o.List(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	var want []prefetch.Want
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); off < f.Size; off += 1 << 20 {
			chunk := data[off:min(off+1<<20, f.Size)]
			c, err := rawPrefix.Sum(chunk)
			if err != nil {
				b.Fatal(err)
			}
			want = append(want, prefetch.Want{Leaf: int64(len(want)), CID: c, File: f, Offset: off, Size: int64(len(chunk))})
		}
	}
	return want
}

var rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: -1}

func fetchAll(b *testing.B, src *prefetch.OriginSource, want []prefetch.Want, total int64) {
	var got atomic.Int64
	err := src.Fetch(context.Background(), want, func(_ prefetch.Want, blk blocks.Block) error {
		got.Add(int64(len(blk.RawData())))
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if got.Load() != total {
		b.Fatalf("fetched %d bytes, want %d", got.Load(), total)
	}
}

// readDirect reads every wanted block from its file into a fresh buffer,
// hashing and checking it when verify is set.
func readDirect(b *testing.B, dir string, want []prefetch.Want, verify bool) {
	var f *os.File
	for _, w := range want {
		if f == nil || f.Name() != filepath.Join(dir, filepath.FromSlash(w.File.Path)) {
			if f != nil {
				f.Close()
			}
			var err error
			if f, err = os.Open(filepath.Join(dir, filepath.FromSlash(w.File.Path))); err != nil {
				b.Fatal(err)
			}
		}
		buf := make([]byte, w.Size)
		if _, err := io.ReadFull(io.NewSectionReader(f, w.Offset, w.Size), buf); err != nil {
			b.Fatal(err)
		}
		if !verify {
			continue
		}
		c, err := rawPrefix.Sum(buf)
		if err != nil || !c.Equals(w.CID) {
			b.Fatalf("block %d: got %s, want %s (%v)", w.Leaf, c, w.CID, err)
		}
	}
	if f != nil {
		f.Close()
	}
}
