package dataset

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/meshcache/meshcache/dataset/internal/fixture"
)

// BenchmarkPublish imports a dataset from an in-memory origin into boxo's
// in-memory block store, and in the same iterations (interleaved, as this
// machine is noisy) hashes the same bytes with sha256 on one core, 1 MiB at
// a time. It reports both rates and their ratio: publish throughput over
// single-core sha256 throughput (the target with 2 cores is ≥ 1.5).
//
//	go test -run '^$' -bench BenchmarkPublish -benchtime 5x ./dataset/
func BenchmarkPublish(b *testing.B) {
	small := fixture.Case{Name: "small-files"}
	for d := range 32 {
		for f := range 256 {
			small.Files = append(small.Files, fixture.File{Path: fmt.Sprintf("d%02d/f%03d.bin", d, f), Size: 32 << 10})
		}
	}
	for _, bc := range []struct {
		name    string
		c       fixture.Case
		noStore bool
	}{
		{"single-256MiB", fixture.Case{Name: "single", Single: true, Files: []fixture.File{{Path: "big", Size: 256 << 20}}}, false},
		{"single-256MiB-nostore", fixture.Case{Name: "single", Single: true, Files: []fixture.File{{Path: "big", Size: 256 << 20}}}, true},
		{"8192-files-32KiB", small, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			o := newMemOrigin(bc.c)
			var total int64
			for _, f := range bc.c.Files {
				total += f.Size
			}
			b.SetBytes(total)
			var tPub, tSHA time.Duration
			for b.Loop() {
				t0 := time.Now()
				o.sha256All()
				t1 := time.Now()
				if _, err := Publish(context.Background(), o, PublishOptions{Store: newMemStore(), NoStore: bc.noStore}); err != nil {
					b.Fatal(err)
				}
				tSHA += t1.Sub(t0)
				tPub += time.Since(t1)
			}
			pub := float64(total) * float64(b.N) / tPub.Seconds() / 1e6
			sha := float64(total) * float64(b.N) / tSHA.Seconds() / 1e6
			b.ReportMetric(pub, "publish-MB/s")
			b.ReportMetric(sha, "sha256-1core-MB/s")
			b.ReportMetric(pub/sha, "ratio")
		})
	}
}

// memOrigin serves fixture content held in memory, so the benchmark
// measures the import and not a disk.
type memOrigin struct {
	genOrigin
	data map[string][]byte
}

func newMemOrigin(c fixture.Case) *memOrigin {
	o := &memOrigin{genOrigin: genOrigin{c: c}, data: map[string][]byte{}}
	for _, f := range c.Files {
		o.data[o.info(f).Path] = fixture.NewContent(f).Bytes()
	}
	return o
}

func (o *memOrigin) ReadRange(_ context.Context, p string, off, length int64, _ originFileInfo) (io.ReadCloser, error) {
	return io.NopCloser(io.NewSectionReader(bytesReaderAt(o.data[p]), off, length)), nil
}

// sha256All is the baseline: every file hashed 1 MiB at a time on one core.
func (o *memOrigin) sha256All() {
	for _, d := range o.data {
		for off := 0; off < len(d); off += ChunkSize {
			sha256.Sum256(d[off:min(off+ChunkSize, len(d))])
		}
	}
}
