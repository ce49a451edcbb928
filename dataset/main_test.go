package dataset

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/meshcache/meshcache/dataset/internal/fixture"
)

// fixtures are written once per test binary (writing the 7,000 files of
// the HAMT case costs more than publishing them) into fixtureDir, and only
// read by tests; tests that change a folder write their own copy.
var fixtures struct {
	dir     string
	mu      sync.Mutex
	written map[string]string
}

func TestMain(m *testing.M) {
	ApplyProfile()
	dir, err := os.MkdirTemp("", "dataset-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtures.dir, fixtures.written = dir, map[string]string{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedCase returns an origin over the shared copy of a fixture case.
func sharedCase(t testing.TB, c fixture.Case) *dirOrigin {
	t.Helper()
	fixtures.mu.Lock()
	defer fixtures.mu.Unlock()
	p, ok := fixtures.written[c.Name]
	if !ok {
		var err error
		if p, err = fixture.Write(fixtures.dir, c); err != nil {
			t.Fatal(err)
		}
		fixtures.written[c.Name] = p
	}
	return &dirOrigin{root: p, single: c.Single}
}
