package origin

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/meshcache/meshcache/internal/testenv"
)

// BenchmarkReadRange reads a 64 MiB file as 1 MiB ranges (the block size),
// 4 at a time, from each origin kind over loopback.
func BenchmarkReadRange(b *testing.B) {
	const size, block = 64 << 20, 1 << 20
	top := b.TempDir()
	data := randomBytes(1, size)
	for _, p := range []string{"ds/f", "s3/bkt/ds/f"} {
		full := filepath.Join(top, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	ng := testenv.StartNginx(b, top)
	s3 := testenv.StartS3(b, filepath.Join(top, "s3"))
	op, err := NewOpener(Config{
		Allow: []string{"file://" + top, ng.URL(), "s3://bkt"},
		S3:    s3Config(s3), Logger: discardLogger(), Getenv: func(string) string { return "" },
	})
	if err != nil {
		b.Fatal(err)
	}
	for i, u := range []string{"file://" + top + "/ds", ng.URL() + "ds", "s3://bkt/ds"} {
		o, err := op.Open(context.Background(), u)
		if err != nil {
			b.Fatal(err)
		}
		fi, err := o.Stat(context.Background(), "f")
		if err != nil {
			b.Fatal(err)
		}
		b.Run([]string{"file", "nginx", "s3"}[i], func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				sem := make(chan struct{}, 4)
				errs := make(chan error, size/block)
				for off := int64(0); off < size; off += block {
					sem <- struct{}{}
					go func() {
						defer func() { <-sem }()
						rc, err := o.ReadRange(context.Background(), "f", off, block, fi)
						if err == nil {
							_, err = io.Copy(io.Discard, rc)
							rc.Close()
						}
						errs <- err
					}()
				}
				for range size / block {
					if err := <-errs; err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
