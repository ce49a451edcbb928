package mem_test

import (
	"testing"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/mem"
	"github.com/meshcache/meshcache/blockstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, capacity int64) blockstore.Store {
		s, err := mem.New(mem.Config{Capacity: capacity})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  mem.Config
		ok   bool
	}{
		{"zero value", mem.Config{}, true},
		{"negative capacity", mem.Config{Capacity: -1}, false},
		{"low above high", mem.Config{HighWater: 0.5, LowWater: 0.8}, false},
		{"unknown policy", mem.Config{Policy: "mru"}, false},
	}
	for _, tt := range tests {
		if err := tt.cfg.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
