package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// mixedLayout is the publish and pin dataset: one large file and many small
// ones spread over folders (no folder large enough to become a HAMT).
type mixedLayout struct {
	Big         int64 // size of big.bin
	Small       int   // number of small files
	SmallAvg    int64 // their average size (sizes vary ±50 %)
	SmallPerDir int
}

// genMixed writes the layout under dir with pseudo-random bytes (every block
// distinct) and returns the total size.
func genMixed(dir string, l mixedLayout, seed uint64) (int64, error) {
	rng := rand.New(rand.NewChaCha8(seedBytes(seed)))
	if err := writeRandom(filepath.Join(dir, "big.bin"), l.Big, rng); err != nil {
		return 0, err
	}
	total := l.Big
	for i := range l.Small {
		size := l.SmallAvg/2 + rng.Int64N(l.SmallAvg+1)
		p := filepath.Join(dir, fmt.Sprintf("d%02d", i/l.SmallPerDir), fmt.Sprintf("f%04d.bin", i))
		if err := writeRandom(p, size, rng); err != nil {
			return 0, err
		}
		total += size
	}
	return total, nil
}

// writeRandom writes size pseudo-random bytes to path.
func writeRandom(path string, size int64, rng *rand.Rand) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		fillRandom(buf[:n], rng)
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		left -= n
	}
	return f.Close()
}

func fillRandom(b []byte, rng *rand.Rand) {
	for i := 0; i+8 <= len(b); i += 8 {
		v := rng.Uint64()
		b[i], b[i+1], b[i+2], b[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		b[i+4], b[i+5], b[i+6], b[i+7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
	}
	for i := len(b) &^ 7; i < len(b); i++ {
		b[i] = byte(rng.Uint32())
	}
}

// genSparse writes files of fileSize bytes under dir until total bytes,
// each 1 MiB block starting with 4 KiB of pseudo-random bytes and the rest a
// hole: every block is distinct (the store keeps every one), yet the folder
// takes 1/256 of its size on disk and is written in moments.
func genSparse(dir string, total, fileSize int64, seed uint64) error {
	rng := rand.New(rand.NewChaCha8(seedBytes(seed)))
	head := make([]byte, 4<<10)
	for i := int64(0); i*fileSize < total; i++ {
		size := min(fileSize, total-i*fileSize)
		p := filepath.Join(dir, fmt.Sprintf("part%03d.bin", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		for off := int64(0); off < size; off += 1 << 20 {
			fillRandom(head, rng)
			if _, err := f.WriteAt(head[:min(int64(len(head)), size-off)], off); err != nil {
				f.Close()
				return fmt.Errorf("write %s: %w", p, err)
			}
		}
		if err := f.Truncate(size); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}
