package disk_test

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/blockstore/vfs"
)

func open(t testing.TB, cfg disk.Config) *disk.Store {
	t.Helper()
	s, err := disk.New(cfg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// storeFiles lists the files under dir/blocks: block files and temp files.
func storeFiles(t testing.TB, fsys vfs.FS, dir string) (blockFiles, temps []string) {
	t.Helper()
	root := filepath.Join(dir, "blocks")
	shards, err := fsys.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range shards {
		ents, err := fsys.ReadDir(filepath.Join(root, sh.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				temps = append(temps, e.Name())
			} else {
				blockFiles = append(blockFiles, e.Name())
			}
		}
	}
	return blockFiles, temps
}

// checkAll reads every listed block back (verifying it) and returns how
// many there are.
func checkAll(t testing.TB, s *disk.Store) int {
	t.Helper()
	ctx := context.Background()
	ch, err := s.AllKeysChan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for c := range ch {
		if _, err := s.Get(ctx, c); err != nil {
			t.Fatalf("listed block %s: %v", c, err)
		}
		n++
	}
	return n
}

func quarantined(t testing.TB, dir string) []fs.DirEntry {
	t.Helper()
	ents, err := vfs.OS{}.ReadDir(filepath.Join(dir, "quarantine"))
	if err != nil {
		t.Fatal(err)
	}
	return ents
}
