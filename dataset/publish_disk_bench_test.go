package dataset

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/origin"
)

// BenchmarkPublishDisk publishes a folder (one large file and many small
// ones, random bytes, in the page cache) through the file:// origin into
// the disk block store, as the daemon does: with each way the store can
// make a batch durable and two batch sizes; every iteration runs all of
// them, interleaved, each into a fresh store. It reports each one's MB/s,
// its CPU seconds per GiB (the machine is shared: CPU varies less than wall
// time), and its ratio to the store committing every block with its own
// fsync in 16 MiB batches (the code before group sync).
//
//	go test -run '^$' -bench BenchmarkPublishDisk -benchtime 3x ./dataset/
func BenchmarkPublishDisk(b *testing.B) {
	src := b.TempDir()
	total := genPublishFolder(b, src, 256<<20, 1024, 128<<10)
	op, err := origin.NewOpener(origin.Config{Allow: []string{"file://" + src}})
	if err != nil {
		b.Fatal(err)
	}
	defer op.Close()
	o, err := op.Open(b.Context(), "file://"+src)
	if err != nil {
		b.Fatal(err)
	}
	variants := []struct {
		name     string
		groupMin int
		batch    int64
	}{
		{"fsync-each-batch-16MiB", -1, 16 << 20}, // the store and publish before group sync
		{"group-sync-batch-16MiB", 0, 16 << 20},
		{"group-sync-batch-32MiB", 0, 32 << 20}, // the default
	}
	spent := make([]time.Duration, len(variants))
	cpu := make([]time.Duration, len(variants))
	b.SetBytes(total)
	for b.Loop() {
		for i, v := range variants {
			dir := b.TempDir()
			s, err := disk.New(disk.Config{Dir: dir, GroupSyncMin: v.groupMin, ScrubInterval: -1})
			if err != nil {
				b.Fatal(err)
			}
			syscall.Sync() // no run pays for another's write-back
			c0 := processCPU()
			t0 := time.Now()
			if _, err := Publish(context.Background(), o, PublishOptions{Store: s, NoCAR: true, BatchBytes: v.batch}); err != nil {
				b.Fatal(err)
			}
			spent[i] += time.Since(t0)
			cpu[i] += processCPU() - c0
			s.Close()
			os.RemoveAll(dir)
		}
	}
	base := spent[0]
	for i, v := range variants {
		b.ReportMetric(float64(total)*float64(b.N)/spent[i].Seconds()/1e6, v.name+"-MB/s")
		b.ReportMetric(cpu[i].Seconds()/(float64(total)*float64(b.N)/(1<<30)), v.name+"-CPU-s/GiB")
		if i > 0 {
			b.ReportMetric(base.Seconds()/spent[i].Seconds(), v.name+"/fsync-each")
		}
	}
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// genPublishFolder writes one big file and n small ones of about avg
// bytes (half to 1.5×) in folders of 256, and returns the bytes written.
func genPublishFolder(b testing.TB, dir string, big int64, n int, avg int64) int64 {
	rng := rand.New(rand.NewPCG(9, 9))
	write := func(p string, size int64) {
		data := make([]byte, size)
		for i := 0; i+8 <= len(data); i += 8 {
			v := rng.Uint64()
			for k := range 8 {
				data[i+k] = byte(v >> (8 * k))
			}
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	write(filepath.Join(dir, "big.bin"), big)
	total := big
	for i := range n {
		size := avg/2 + rng.Int64N(avg)
		write(filepath.Join(dir, fmt.Sprintf("d%02d/f%04d.bin", i/256, i)), size)
		total += size
	}
	return total
}
