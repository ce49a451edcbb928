package prefetch

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// removeTemps removes from dir the temp files (".NAME.tmp-*", as
// atomicfile and dataset.BuildIndex name them) that a crash left while a
// pin record or an index was being written. Nothing else would ever remove
// them, and an index temp file is large: about 50 bytes a leaf, half a
// gigabyte for a 10 TB dataset. It runs before the manager writes anything.
func removeTemps(dir string, log *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("remove leftover temp files: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, ".") || !strings.Contains(name, ".tmp-") {
			continue
		}
		p := filepath.Join(dir, name)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove leftover temp file: %w", err)
		}
		log.Info("removed a temp file left by a crash", "path", p)
	}
	return nil
}
