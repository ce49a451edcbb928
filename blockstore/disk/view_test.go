package disk_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	blocks "github.com/ipfs/go-block-format"

	"github.com/meshcache/meshcache/blockstore/disk"
)

// TestViewReusesNoBytesAcrossCalls: View lends each call its own block's
// bytes from reused buffers; concurrent views of blocks of several sizes
// (smaller, equal and larger than the last buffer) each see exactly their
// block.
func TestViewReusesNoBytesAcrossCalls(t *testing.T) {
	ctx := context.Background()
	s := open(t, disk.Config{Dir: t.TempDir(), ScrubInterval: -1, VerifyReads: disk.VerifyAlways})
	rng := rand.New(rand.NewPCG(3, 4))
	var blks []blocks.Block
	for _, size := range []int{1 << 20, 1000, 1<<20 + 1, 0, 256 << 10, 2 << 20} {
		b := randBlock(t, rng, size)
		if err := s.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
		blks = append(blks, b)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				b := blks[(i+w)%len(blks)]
				err := s.View(ctx, b.Cid(), func(data []byte) error {
					if !bytes.Equal(data, b.RawData()) {
						t.Errorf("view of %s (%d bytes) saw %d other bytes", b.Cid(), len(b.RawData()), len(data))
					}
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
