package disk_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/meshcache/meshcache/blockstore/disk"
)

const benchBlock = 1 << 20

// blockSource makes distinct 1 MiB blocks outside the timer.
type blockSource struct {
	rng  *rand.Rand
	base []byte
}

func newBlockSource() *blockSource {
	rng := rand.New(rand.NewPCG(1, 2))
	base := make([]byte, benchBlock)
	for i := range base {
		base[i] = byte(rng.Uint32())
	}
	return &blockSource{rng: rng, base: base}
}

func (s *blockSource) next(b *testing.B, n int) []blocks.Block {
	b.StopTimer()
	defer b.StartTimer()
	return s.gen(b, n)
}

func (s *blockSource) gen(b testing.TB, n int) []blocks.Block {
	out := make([]blocks.Block, n)
	for i := range out {
		data := append([]byte(nil), s.base...)
		for j := 0; j < 64; j += 8 {
			v := s.rng.Uint64()
			for k := range 8 {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		out[i] = randBlockFrom(b, data)
	}
	return out
}

// BenchmarkPut holds b.N blocks in memory: run it with -benchtime=Nx
// (N around 500) rather than a duration.
//
// BenchmarkPut compares the store's durable writes of 1 MiB blocks (which
// also hash every block) with raw write+fsync+rename+dir-sync of 1 MiB files.
func BenchmarkPut(b *testing.B) {
	ctx := context.Background()
	for _, batch := range []int{1, 32} {
		b.Run(fmt.Sprintf("store/batch-%d", batch), func(b *testing.B) {
			dir := b.TempDir()
			precreateShards(b, dir)
			s, err := disk.New(disk.Config{Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			bs := newBlockSource().next(b, b.N)
			b.SetBytes(benchBlock)
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(batch, b.N-done)
				if n == 1 {
					err = s.Put(ctx, bs[done])
				} else {
					err = s.PutMany(ctx, bs[done:done+n])
				}
				if err != nil {
					b.Fatal(err)
				}
				done += n
			}
		})
	}
	for _, layout := range []string{"one-dir", "sharded"} {
		for _, writers := range []int{1, 4} {
			b.Run(fmt.Sprintf("raw-fsync-rename/%s/writers-%d", layout, writers), func(b *testing.B) {
				dir := b.TempDir()
				precreateShards(b, dir)
				// Distinct buffers, as the store gets: copying one hot
				// buffer again and again would flatter the baseline.
				bs := newBlockSource().next(b, b.N)
				b.SetBytes(benchBlock)
				b.ResetTimer()
				var wg sync.WaitGroup
				jobs := make(chan int)
				for range writers {
					wg.Go(func() {
						for i := range jobs {
							sub := dir
							if layout == "sharded" {
								sub = filepath.Join(dir, "blocks", shardNames[i%len(shardNames)])
							}
							rawWrite(b, sub, fmt.Sprint(i), bs[i].RawData())
						}
					})
				}
				for i := range b.N {
					jobs <- i
				}
				close(jobs)
				wg.Wait()
			})
		}
	}
}

// shardNames are the store's 1024 shard directory names, in a scattered
// order as block names fall into them.
var shardNames = func() []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var out []string
	for _, x := range alphabet {
		for _, y := range alphabet {
			out = append(out, string(x)+string(y))
		}
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}()

// precreateShards makes all 1024 shard directories, as a store in use has
// them, so the benchmark does not measure a new store's first writes.
func precreateShards(b *testing.B, dir string) {
	for _, sh := range shardNames {
		if err := os.MkdirAll(filepath.Join(dir, "blocks", sh), 0o755); err != nil {
			b.Fatal(err)
		}
	}
}

func rawWrite(b *testing.B, dir, name string, data []byte) {
	tmp := filepath.Join(dir, "."+name+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		b.Error(err)
		return
	}
	if _, err := f.Write(data); err != nil {
		b.Error(err)
	}
	if err := f.Sync(); err != nil {
		b.Error(err)
	}
	f.Close()
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		b.Error(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		b.Error(err)
		return
	}
	d.Sync()
	d.Close()
}

// BenchmarkGet compares Get of verified blocks (page cache warm) with
// os.ReadFile of the same files.
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := disk.New(disk.Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	bs := newBlockSource().next(b, 64)
	if err := s.PutMany(ctx, bs); err != nil {
		b.Fatal(err)
	}
	for _, blk := range bs { // first reads verify; the benchmark reads verified blocks
		if _, err := s.Get(ctx, blk.Cid()); err != nil {
			b.Fatal(err)
		}
	}
	var paths []string
	filepath.WalkDir(filepath.Join(dir, "blocks"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return nil
	})
	if len(paths) != len(bs) {
		b.Fatalf("%d files for %d blocks", len(paths), len(bs))
	}
	b.Run("store", func(b *testing.B) {
		b.SetBytes(benchBlock)
		for i := 0; b.Loop(); i++ {
			if _, err := s.Get(ctx, bs[i%len(bs)].Cid()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open-readfull", func(b *testing.B) {
		b.SetBytes(benchBlock)
		buf := make([]byte, benchBlock)
		for i := 0; b.Loop(); i++ {
			f, err := os.Open(paths[i%len(paths)])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.ReadFull(f, buf); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	b.Run("os.ReadFile", func(b *testing.B) {
		b.SetBytes(benchBlock)
		for i := 0; b.Loop(); i++ {
			if _, err := os.ReadFile(paths[i%len(paths)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
