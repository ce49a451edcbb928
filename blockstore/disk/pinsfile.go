package disk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"

	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
)

// pinsFile is pins.json.
type pinsFile struct {
	Version int       `json:"version"`
	Pins    []pinJSON `json:"pins"`
}

type pinJSON struct {
	Root string `json:"root"`
	Size int64  `json:"size"`
}

func (s *Store) pinsPath() string { return filepath.Join(s.cfg.Dir, pinsFileName) }

func (s *Store) loadPins() ([]blockstore.Pin, error) {
	f, err := s.fs.Open(s.pinsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open pins: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read pins %s: %w", s.pinsPath(), err)
	}
	var pf pinsFile
	if err := json.Unmarshal(data, &pf); err != nil {
		return nil, fmt.Errorf("parse pins %s: %w", s.pinsPath(), err)
	}
	if pf.Version != 1 {
		return nil, fmt.Errorf("pins %s: unknown version %d", s.pinsPath(), pf.Version)
	}
	out := make([]blockstore.Pin, 0, len(pf.Pins))
	for _, p := range pf.Pins {
		c, err := cid.Decode(p.Root)
		if err != nil {
			return nil, fmt.Errorf("pins %s: root %q: %w", s.pinsPath(), p.Root, err)
		}
		out = append(out, blockstore.Pin{Root: c, Size: p.Size})
	}
	return out, nil
}

// savePins replaces pins.json atomically and durably.
func (s *Store) savePins(pins []blockstore.Pin) error {
	pf := pinsFile{Version: 1, Pins: make([]pinJSON, 0, len(pins))}
	for _, p := range pins {
		pf.Pins = append(pf.Pins, pinJSON{Root: p.Root.String(), Size: p.Size})
	}
	data, err := json.MarshalIndent(pf, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.cfg.Dir, fmt.Sprintf(".%s.%016x%s", pinsFileName, rand.Uint64(), tempExt))
	if err := s.writeDurable(tmp, data); err != nil {
		return mapNoSpace(fmt.Errorf("write pins: %w", err))
	}
	if err := s.fs.Rename(tmp, s.pinsPath()); err != nil {
		s.fs.Remove(tmp)
		return fmt.Errorf("replace pins: %w", err)
	}
	if err := s.fs.SyncDir(s.cfg.Dir); err != nil {
		return fmt.Errorf("sync pins: %w", err)
	}
	return nil
}
