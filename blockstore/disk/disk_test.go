package disk_test

import (
	"testing"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, capacity int64) blockstore.Store {
		s, err := disk.New(disk.Config{Dir: t.TempDir(), Capacity: capacity})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
