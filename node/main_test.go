package node

import (
	"os"
	"testing"

	"github.com/meshcache/meshcache/dataset"
)

// TestMain sets boxo's UnixFS profile once, before any daemon imports.
func TestMain(m *testing.M) {
	dataset.ApplyProfile()
	os.Exit(m.Run())
}
