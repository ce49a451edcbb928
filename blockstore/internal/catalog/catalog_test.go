package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/evict"
	"github.com/multiformats/go-multihash"
)

// fakeBackend holds nothing; it records removals.
type fakeBackend struct {
	mu      sync.Mutex
	removed []string
}

func (f *fakeBackend) ReadBlock(ctx context.Context, c cid.Cid) ([]byte, error) {
	return nil, blockstore.ErrNotFound
}

func (f *fakeBackend) RemoveBlock(key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, key)
	return nil
}

func (f *fakeBackend) SavePins([]blockstore.Pin) error { return nil }

func testCID(i int) cid.Cid {
	mh, _ := multihash.Sum([]byte(fmt.Sprint(i)), multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, mh)
}

// TestWatermarks: usage may reach the high watermark without eviction;
// crossing it evicts down to the low watermark; pinned blocks stay.
func TestWatermarks(t *testing.T) {
	ctx := context.Background()
	fb := &fakeBackend{}
	c := New(Config{Capacity: 1000, HighWater: 0.95, LowWater: 0.80, Policy: evict.Default}, fb, slog.New(slog.DiscardHandler))
	put := func(i int) error {
		id := testCID(i)
		if err := c.Reserve(10); err != nil {
			return err
		}
		c.Commit(id, 10, nil, time.Now())
		return nil
	}
	if err := c.Pin(ctx, testCID(0), 100); err != nil {
		t.Fatal(err)
	}
	for i := range 95 {
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.Bytes != 950 || st.Evicted != 0 {
		t.Fatalf("at the high watermark: %+v, want 950 bytes, nothing evicted", st)
	}
	if err := put(95); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Bytes > 800 || st.Bytes < 790 || int64(len(fb.removed)) != st.Evicted {
		t.Fatalf("after crossing the high watermark: %+v, %d removed; want about 800 bytes", st, len(fb.removed))
	}
	if _, ok := c.Lookup(Key(testCID(0))); !ok {
		t.Fatal("pinned block evicted")
	}
}

// TestNoSpaceWhenAllPinned: with every held block pinned, a block that
// does not fit is refused and nothing is evicted.
func TestNoSpaceWhenAllPinned(t *testing.T) {
	ctx := context.Background()
	c := New(Config{Capacity: 100, HighWater: 0.95, LowWater: 0.9, Policy: evict.Default}, &fakeBackend{}, slog.New(slog.DiscardHandler))
	for i := range 9 {
		if err := c.Pin(ctx, testCID(i), 10); err != nil {
			t.Fatal(err)
		}
		if err := c.Reserve(10); err != nil {
			t.Fatal(err)
		}
		c.Commit(testCID(i), 10, nil, time.Now())
	}
	if err := c.Reserve(11); !errors.Is(err, blockstore.ErrNoSpace) {
		t.Fatalf("reserve beyond capacity with everything pinned: %v, want ErrNoSpace", err)
	}
	if err := c.Reserve(10); err != nil {
		t.Fatalf("reserve that fits exactly: %v", err)
	}
	c.Release(10)
	// Unpinned blocks are not flushed for a block that cannot fit anyway.
	if err := c.Unpin(ctx, testCID(8)); err != nil {
		t.Fatal(err)
	}
	if err := c.Reserve(25); !errors.Is(err, blockstore.ErrNoSpace) {
		t.Fatalf("reserve of more than capacity minus pinned: %v, want ErrNoSpace", err)
	}
	if st := c.Stats(); st.Evicted != 0 || st.Blocks != 9 {
		t.Fatalf("stats %+v", st)
	}
}

// BenchmarkIndexMemory measures the index's heap cost per block, unpinned
// (index entry and eviction-policy node) and pinned (index entry and
// pinned-set entry). Run with -benchtime=1x.
func BenchmarkIndexMemory(b *testing.B) {
	const n = 200_000
	keys := make([]string, n)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range keys {
		d := make([]byte, 32)
		for j := range d {
			d[j] = byte(rng.Uint32())
		}
		mh, _ := multihash.Encode(d, multihash.SHA2_256)
		keys[i] = string(mh)
	}
	cases := []struct {
		name         string
		pinned, held bool
	}{{"held-unpinned", false, true}, {"held-pinned", true, true}, {"pinned-not-held", true, false}}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var c *Catalog
			var before, after runtime.MemStats
			for b.Loop() {
				runtime.GC()
				runtime.ReadMemStats(&before)
				c = New(Config{Capacity: 1 << 50, HighWater: 0.95, LowWater: 0.9, Policy: evict.Default}, &fakeBackend{}, slog.New(slog.DiscardHandler))
				for _, k := range keys {
					if tc.pinned {
						c.live.m[string([]byte(k))] = 0 // as marking stores a link's multihash
					}
					if tc.held {
						c.Load(string([]byte(k)), 1<<20) // a key as the scan decodes it
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
			}
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/block")
			runtime.KeepAlive(c)
		})
	}
}
