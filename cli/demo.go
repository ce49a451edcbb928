package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ipfs/go-cid"
	ucli "github.com/urfave/cli/v2"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/node"
)

func demoCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "demo",
		Usage: "run meshcache end to end on this machine with a generated dataset",
		Description: `Generates a demo dataset in a local folder (the origin), starts a daemon that
publishes it, starts a second daemon with an empty data directory that pins
the dataset from the origin alone (through the CAR file publish wrote), reads
every file back through the second daemon's unix socket and compares it with
the origin. Needs nothing but this binary.`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "dir", Usage: "work directory (default: a new temporary one, removed afterwards)"},
			&ucli.StringFlag{Name: "size", Usage: "approximate dataset size", Value: "96M"},
		},
		Action: func(c *ucli.Context) error {
			size, err := parseSize(c.String("size"))
			if err != nil {
				return fmt.Errorf("--size: %w", err)
			}
			dir := c.String("dir")
			if dir == "" {
				if dir, err = os.MkdirTemp("", "meshcache-demo-"); err != nil {
					return err
				}
				defer os.RemoveAll(dir)
			}
			return runDemo(c.Context, c.App.Writer, dir, size)
		},
	}
}

// demoDaemon is a daemon the demo runs in-process.
type demoDaemon struct {
	client *api.Client
	stop   context.CancelFunc
	done   chan error
}

func startDemoDaemon(ctx context.Context, dir, originDir string) (*demoDaemon, error) {
	sock := filepath.Join(dir, "meshcache.sock")
	n, err := node.New(node.Config{
		DataDir:      filepath.Join(dir, "data"),
		SocketPath:   sock,
		AllowOrigins: []string{"file://" + originDir},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	d := &demoDaemon{client: &api.Client{SocketPath: sock}, stop: stop, done: make(chan error, 1)}
	go func() { d.done <- n.Run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := d.client.Stats(ctx); err == nil {
			return d, nil
		} else if time.Now().After(deadline) {
			d.close()
			return nil, fmt.Errorf("demo daemon did not start: %w", err)
		}
	}
}

func (d *demoDaemon) close() error {
	d.stop()
	return <-d.done
}

func runDemo(ctx context.Context, w io.Writer, dir string, size int64) error {
	originDir := filepath.Join(dir, "origin")
	sums, total, err := writeDemoDataset(originDir, size)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "origin:    file://%s (%d files, %s)\n", originDir, len(sums), formatBytes(total))

	pub, err := startDemoDaemon(ctx, filepath.Join(dir, "publisher"), originDir)
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := pub.client.Publish(ctx, api.PublishRequest{Origin: "file://" + originDir})
	if err == nil {
		st, err = pub.client.WaitPublish(ctx, st.ID, 100*time.Millisecond, nil)
	}
	if cerr := pub.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	root := cid.Cid(st.Root)
	fmt.Fprintf(w, "published: %s in %v\n", root, time.Since(start).Round(time.Millisecond))

	reader, err := startDemoDaemon(ctx, filepath.Join(dir, "reader"), originDir)
	if err != nil {
		return err
	}
	defer reader.close()
	start = time.Now()
	if _, err := reader.client.Pin(ctx, root, "file://"+originDir); err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	ps, err := reader.client.WaitPin(ctx, root, 100*time.Millisecond, nil)
	if err != nil {
		return fmt.Errorf("pin: %w", err)
	}
	fmt.Fprintf(w, "pinned:    %s on a fresh daemon in %v (%s)\n", formatBytes(ps.BytesTotal), time.Since(start).Round(time.Millisecond), sourceDetail(ps.BySource))

	for rel, want := range sums {
		data, err := reader.client.ReadFile(ctx, root, rel)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		if got := sha256.Sum256(data); !bytes.Equal(got[:], want[:]) {
			return fmt.Errorf("read %s: bytes differ from the origin", rel)
		}
	}
	fmt.Fprintf(w, "verified:  every file read through the unix socket matches the origin\n")
	fmt.Fprintln(w, root)
	return nil
}

// writeDemoDataset writes a folder shaped like a small training set: shards
// of several blocks, small files, an empty one, nested folders and names
// with spaces and non-ASCII letters.
func writeDemoDataset(dir string, size int64) (map[string][32]byte, int64, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	files := map[string]int64{"README.txt": 1234, "empty.txt": 0, "labels/classes.txt": 4096, "labels/Zürich été.csv": 70_000}
	for i, left := 0, size; left > 0; i++ {
		n := min(left, int64(5<<20)+int64(rng.IntN(3<<20)))
		files[fmt.Sprintf("train/shard-%04d.bin", i)] = n
		left -= n
	}
	sums := map[string][32]byte{}
	var total int64
	// Sorted, so the same seed gives the same bytes and so the same root CID
	// on every run.
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		n := files[rel]
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, 0, err
		}
		data := make([]byte, n+8)
		for i := 0; i < len(data)-8; i += 8 {
			binary.LittleEndian.PutUint64(data[i:], rng.Uint64())
		}
		data = data[:n]
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, 0, err
		}
		sums[rel] = sha256.Sum256(data)
		total += n
	}
	return sums, total, nil
}
