package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/meshcache/meshcache/blockstore/vfs"
	"golang.org/x/sync/errgroup"
)

// chunk is one 1 MiB piece (or a file's last piece) of a file to copy.
type chunk struct {
	path     string
	off, len int64
	n        int
}

// durableCopy is the floor of a durable publish on this disk: every 1 MiB
// chunk of every file under src is written to its own file among 1,024
// shard folders of dest, four at a time (the store's write parallelism),
// with no hashing and no DAG. Reads come from the page cache. Each chunk
// is made durable as the store makes one block: fsynced, renamed into place
// and its folder fsynced; or, with grouped set, as the store makes a batch:
// 32 MiB of chunks written with O_DIRECT, one syncfs, the renames, one
// more syncfs.
func durableCopy(src, dest string, grouped bool) (run, error) {
	var chunks []chunk
	var total int64
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type().IsDir() && d.Name() == ".meshcache" {
			if err == nil {
				err = filepath.SkipDir
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		for off := int64(0); off < info.Size(); off += 1 << 20 {
			chunks = append(chunks, chunk{p, off, min(1<<20, info.Size()-off), len(chunks)})
		}
		total += info.Size()
		return nil
	})
	if err != nil {
		return run{}, err
	}
	for s := range 1024 {
		if err := os.MkdirAll(filepath.Join(dest, fmt.Sprintf("%03x", s)), 0o755); err != nil {
			return run{}, err
		}
	}
	settle()
	t0 := time.Now()
	if grouped {
		err := groupedCopy(chunks, dest)
		return run{Wall: time.Since(t0), Bytes: total}, err
	}
	work := make(chan chunk)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1<<20)
			for c := range work {
				if err := copyChunk(c.path, c.off, buf[:c.len], filepath.Join(dest, fmt.Sprintf("%03x", c.n%1024)), c.n); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		}()
	}
	for _, c := range chunks {
		work <- c
	}
	close(work)
	wg.Wait()
	wall := time.Since(t0)
	select {
	case err := <-errs:
		return run{}, err
	default:
	}
	return run{Wall: wall, Bytes: total}, nil
}

func copyChunk(src string, off int64, buf []byte, dir string, n int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	_, err = in.ReadAt(buf, off)
	in.Close()
	if err != nil {
		return fmt.Errorf("read %s at %d: %w", src, off, err)
	}
	final := filepath.Join(dir, fmt.Sprintf("b%07d", n))
	f, err := os.Create(final + ".tmp")
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(final+".tmp", final)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// groupedCopy copies the chunks in batches of 32 MiB: four writers write
// a batch's chunks with O_DIRECT, one syncfs makes them durable, they are
// renamed, and one more syncfs makes the renames durable.
func groupedCopy(chunks []chunk, dest string) error {
	fsys := vfs.OS{}
	for start := 0; start < len(chunks); {
		end, size := start, int64(0)
		for end < len(chunks) && size < 32<<20 {
			size += chunks[end].len
			end++
		}
		batch := chunks[start:end]
		start = end
		sy, err := fsys.OpenSyncer(dest)
		if err != nil {
			return err
		}
		finals := make([]string, len(batch))
		g := new(errgroup.Group)
		g.SetLimit(4)
		for i, c := range batch {
			g.Go(func() error {
				finals[i] = filepath.Join(dest, fmt.Sprintf("%03x", c.n%1024), fmt.Sprintf("b%07d", c.n))
				return directChunk(fsys, c.path, c.off, c.len, finals[i]+".tmp")
			})
		}
		err = g.Wait()
		if err == nil {
			err = sy.Sync()
		}
		for _, f := range finals {
			if err == nil {
				err = os.Rename(f+".tmp", f)
			}
		}
		if err == nil {
			err = sy.Sync()
		}
		sy.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// directChunk reads length bytes of src at off into a fresh page-aligned
// buffer (a Go allocation of 32 KiB or more is) and writes them to name
// with O_DIRECT.
func directChunk(fsys vfs.OS, src string, off, length int64, name string) error {
	buf := make([]byte, length)
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	_, err = in.ReadAt(buf, off)
	in.Close()
	if err != nil {
		return fmt.Errorf("read %s at %d: %w", src, off, err)
	}
	f, err := fsys.CreateDirect(name)
	if err != nil {
		return err
	}
	_, err = f.Write(buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
