package disk_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/multiformats/go-multihash"
)

const benchBlock = 1 << 20

// blockSource makes distinct 1 MiB blocks outside the timer.
type blockSource struct {
	rng    *rand.Rand
	base   []byte
	size   int
	marked bool // blocks marked verified, as publish hands them to the store
}

func newBlockSource() *blockSource {
	rng := rand.New(rand.NewPCG(1, 2))
	base := make([]byte, benchBlock)
	for i := range base {
		base[i] = byte(rng.Uint32())
	}
	return &blockSource{rng: rng, base: base, size: benchBlock}
}

func (s *blockSource) sized(n int) *blockSource { s.size = n; return s }

func (s *blockSource) verified() *blockSource { s.marked = true; return s }

func (s *blockSource) next(b *testing.B, n int) []blocks.Block {
	b.StopTimer()
	defer b.StartTimer()
	return s.gen(b, n)
}

func (s *blockSource) gen(b testing.TB, n int) []blocks.Block {
	out := make([]blocks.Block, n)
	for i := range out {
		data := append(make([]byte, 0, s.size), s.base[:s.size]...)
		for j := 0; j < 64; j += 8 {
			v := s.rng.Uint64()
			for k := range 8 {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		if s.marked {
			blk, err := blockstore.Hashed(cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: -1}, data)
			if err != nil {
				b.Fatal(err)
			}
			out[i] = blk
			continue
		}
		out[i] = storetest.RawBlock(b, data)
	}
	return out
}

// BenchmarkPut compares the store's durable writes (blocks marked
// verified, as publish hands them over, so no hashing is measured) with
// raw floors on the same disk, interleaved: every iteration writes 32 fresh
// blocks with each variant in turn, so a noisy neighbour slows them alike.
// The floors are write+fsync+rename+dir-sync of each file by four writers
// (what the store does per block) and the files written with O_DIRECT by
// four writers, one syncfs, the renames, one more syncfs (what it does per
// batch). Blocks of 1 MiB (large files) and 128 KiB (small files). Dirty
// pages are written back (untimed) before each variant's turn, so no one
// pays for another's leftovers. It reports each variant's MB/s and the
// store's ratios to the floors.
//
//	go test -run '^$' -bench BenchmarkPut -benchtime 10x -count 3 ./blockstore/disk/
func BenchmarkPut(b *testing.B) {
	const perIter = 32
	for _, size := range []int{benchBlock, 128 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			variants := []*putVariant{
				storeVariant(b, "store-put-1", 1, 0),
				storeVariant(b, "store-putmany-fsync-each", perIter, -1),
				storeVariant(b, "store-putmany-group-sync", perIter, 0),
				rawVariant(b, "raw-fsync-each", func(dir string, bs []blocks.Block, first int) {
					parallel(len(bs), 4, func(i int) {
						rawWrite(b, filepath.Join(dir, "blocks", shardNames[(first+i)%len(shardNames)]), fmt.Sprint(first+i), bs[i].RawData())
					})
				}),
				rawVariant(b, "raw-direct-syncfs", func(dir string, bs []blocks.Block, first int) {
					rawDirectBatch(b, dir, bs, first)
				}),
			}
			src := newBlockSource().sized(size).verified()
			// The variants' 5 × 1,024 new shard folders are dirty: write
			// them back now, or the first syncfs of the loop pays for all.
			syscall.Sync()
			for i := 0; b.Loop(); i++ {
				for _, v := range variants {
					bs := src.gen(b, perIter)
					// Untimed: fsync leaves allocation bitmaps and the like
					// dirty (ext4 without a journal), and the next syncfs,
					// whoever's, would pay for them.
					syscall.Sync()
					t0 := time.Now()
					v.put(bs, i*perIter)
					v.spent += time.Since(t0)
				}
			}
			rate := func(v *putVariant) float64 {
				return float64(size*perIter*b.N) / v.spent.Seconds() / 1e6
			}
			for _, v := range variants {
				b.ReportMetric(rate(v), v.name+"-MB/s")
			}
			b.ReportMetric(rate(variants[2])/rate(variants[4]), "group-sync/raw-direct-syncfs")
			b.ReportMetric(rate(variants[1])/rate(variants[3]), "fsync-each/raw-fsync-each")
			b.ReportMetric(rate(variants[2])/rate(variants[1]), "group-sync/fsync-each")
		})
	}
}

// putVariant is one way of making blocks durable.
type putVariant struct {
	name  string
	put   func(bs []blocks.Block, first int)
	spent time.Duration
}

// storeVariant puts blocks into a store of its own, batch at a time.
func storeVariant(b *testing.B, name string, batch, groupMin int) *putVariant {
	ctx := context.Background()
	dir := b.TempDir()
	precreateShards(b, dir)
	s, err := disk.New(disk.Config{Dir: dir, GroupSyncMin: groupMin, ScrubInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return &putVariant{name: name, put: func(bs []blocks.Block, _ int) {
		for done := 0; done < len(bs); done += batch {
			var err error
			if batch == 1 {
				err = s.Put(ctx, bs[done])
			} else {
				err = s.PutMany(ctx, bs[done:min(done+batch, len(bs))])
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}}
}

// rawVariant writes plain files into a folder of its own.
func rawVariant(b *testing.B, name string, write func(dir string, bs []blocks.Block, first int)) *putVariant {
	dir := b.TempDir()
	precreateShards(b, dir)
	return &putVariant{name: name, put: func(bs []blocks.Block, first int) { write(dir, bs, first) }}
}

// parallel runs f(0..n-1) on workers goroutines.
func parallel(n, workers int, f func(i int)) {
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				f(i)
			}
		})
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

// rawDirectBatch is the floor of a group-synced batch: the files written
// with O_DIRECT by four writers, one syncfs, the renames, one syncfs.
func rawDirectBatch(b *testing.B, dir string, bs []blocks.Block, first int) {
	fsys := vfs.OS{}
	sy, err := fsys.OpenSyncer(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer sy.Close()
	names := make([]string, len(bs))
	parallel(len(bs), 4, func(i int) {
		names[i] = filepath.Join(dir, "blocks", shardNames[(first+i)%len(shardNames)], fmt.Sprint(first+i))
		f, err := fsys.CreateDirect(names[i] + ".tmp")
		if err != nil {
			b.Error(err)
			return
		}
		if _, err := f.Write(bs[i].RawData()); err != nil {
			b.Error(err)
		}
		f.Close()
	})
	if err := sy.Sync(); err != nil {
		b.Fatal(err)
	}
	for _, n := range names {
		if err := os.Rename(n+".tmp", n); err != nil {
			b.Fatal(err)
		}
	}
	if err := sy.Sync(); err != nil {
		b.Fatal(err)
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
