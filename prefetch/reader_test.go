package prefetch

import (
	"bytes"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadThroughFetchesOnce: many readers of a block the node lacks cause
// one origin read between them, and a sequential reader of a whole file
// (with read-ahead) reads each of its blocks from the origin once.
func TestReadThroughFetchesOnce(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	gate := make(chan struct{})
	rec := &recordingOrigin{gate: gate}
	m := newManager(t, f, memStore(t), t.TempDir(), recorderFor(t, f, rec))
	startManager(t, m)
	if _, err := m.Catalog().Index(ctx, f.root, f.url); err != nil {
		t.Fatalf("learn the dataset: %v", err)
	}

	want := f.data["a.bin"][2*mib : 2*mib+100]
	var wg sync.WaitGroup
	var started atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			file, _, err := m.Open(ctx, f.root, "a.bin")
			if err != nil {
				t.Errorf("open: %v", err)
				return
			}
			var buf bytes.Buffer
			started.Add(1)
			if _, err := file.WriteRange(ctx, &buf, 2*mib, 100); err != nil {
				t.Errorf("read: %v", err)
				return
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("read other bytes")
			}
		}()
	}
	// Let every reader reach the held read before it goes; without
	// coalescing each would have sent its own.
	waitFor(t, "eight readers and a held read", func() bool { return started.Load() == 8 && rec.held.Load() > 0 })
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	if reads := rec.seen(); len(reads) != 1 || reads[0].off != 2*mib || reads[0].length != mib {
		t.Fatalf("8 readers of one block made origin reads %+v, want one of that block", reads)
	}

	file, _, err := m.Open(ctx, f.root, "a.bin")
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(0); off < file.Size(); off += 64 << 10 {
		n := min(64<<10, file.Size()-off)
		var buf bytes.Buffer
		if _, err := file.WriteRange(ctx, &buf, off, n); err != nil {
			t.Fatalf("read at %d: %v", off, err)
		}
		if !bytes.Equal(buf.Bytes(), f.data["a.bin"][off:off+n]) {
			t.Fatalf("bytes at %d differ", off)
		}
	}
	seen := map[int64]int{}
	for _, r := range rec.seen() {
		for b := r.off; b < r.off+r.length; b += mib {
			seen[b/mib]++
		}
	}
	for b := range int64(4) {
		if seen[b] != 1 {
			t.Errorf("block %d of a.bin read from the origin %d times, want once", b, seen[b])
		}
	}
}
