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
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/node"
)

func demoCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "demo",
		Usage: "run meshcache end to end on this machine with a generated dataset",
		Description: `Generates a demo dataset in a local folder (the origin) and publishes it with
one daemon (which writes the CAR file beside the data). Then three daemons
with empty data directories and a fresh cluster key form a mesh on
127.0.0.1 (QUIC): the first pins the dataset from the origin, the others
from their peers. The last one reads every file back through its unix
socket and compares it with the origin; the demo ends by printing the bytes
read from the origin and from peers. Needs nothing but this binary.`,
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
	node   *node.Node
	client *api.Client
	stop   context.CancelFunc
	done   chan error
}

func startDemoDaemon(ctx context.Context, dir, originDir string, mesh node.MeshConfig) (*demoDaemon, error) {
	sock := filepath.Join(dir, "meshcache.sock")
	n, err := node.New(node.Config{
		DataDir:      filepath.Join(dir, "data"),
		SocketPath:   sock,
		AllowOrigins: []string{"file://" + originDir},
		Mesh:         mesh,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(ctx)
	d := &demoDaemon{node: n, client: &api.Client{SocketPath: sock}, stop: stop, done: make(chan error, 1)}
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

// demoMembers is how many daemons of the demo's mesh pin the dataset.
const demoMembers = 3

func runDemo(ctx context.Context, w io.Writer, dir string, size int64) error {
	originDir := filepath.Join(dir, "origin")
	sums, total, err := writeDemoDataset(originDir, size)
	if err != nil {
		return err
	}
	originURL := "file://" + originDir
	fmt.Fprintf(w, "origin:    %s (%d files, %s)\n", originURL, len(sums), formatBytes(total))

	root, err := demoPublish(ctx, w, dir, originDir)
	if err != nil {
		return err
	}
	members, err := startDemoMesh(ctx, dir, originDir)
	defer func() {
		for _, m := range members {
			m.close()
		}
	}()
	if err != nil {
		return err
	}
	var originBytes, peerBytes int64
	for i, m := range members {
		if i > 0 {
			// A pin is announced in the DHT a moment after it completes.
			if err := waitForHolder(ctx, m.node, root); err != nil {
				return err
			}
		}
		start := time.Now()
		if _, err := m.client.Pin(ctx, root, originURL); err != nil {
			return fmt.Errorf("pin on daemon %d: %w", i+1, err)
		}
		ps, err := m.client.WaitPin(ctx, root, 50*time.Millisecond, nil)
		if err != nil {
			return fmt.Errorf("pin on daemon %d: %w", i+1, err)
		}
		originBytes += ps.BySource.Origin
		peerBytes += ps.BySource.Peer
		fmt.Fprintf(w, "pinned:    daemon %d, %s in %v (%s)\n", i+1, formatBytes(ps.BytesTotal), time.Since(start).Round(time.Millisecond), sourceDetail(ps.BySource))
	}
	last := members[len(members)-1]
	for rel, want := range sums {
		data, err := last.client.ReadFile(ctx, root, rel)
		if err != nil {
			return fmt.Errorf("read %s: %w", rel, err)
		}
		if got := sha256.Sum256(data); !bytes.Equal(got[:], want[:]) {
			return fmt.Errorf("read %s: bytes differ from the origin", rel)
		}
	}
	fmt.Fprintf(w, "verified:  every file read through daemon %d's unix socket matches the origin\n", len(members))
	fmt.Fprintf(w, "total:     %d pins of %s: origin %s (%.2fx the dataset), peers %s\n",
		len(members), formatBytes(total), formatBytes(originBytes), float64(originBytes)/float64(max(total, 1)), formatBytes(peerBytes))
	fmt.Fprintln(w, root)
	return nil
}

// demoPublish publishes the origin folder with a daemon of its own, which
// writes the CAR file the other daemons learn the dataset from.
func demoPublish(ctx context.Context, w io.Writer, dir, originDir string) (cid.Cid, error) {
	pub, err := startDemoDaemon(ctx, filepath.Join(dir, "publisher"), originDir, node.MeshConfig{})
	if err != nil {
		return cid.Undef, err
	}
	start := time.Now()
	st, err := pub.client.Publish(ctx, api.PublishRequest{Origin: "file://" + originDir, NoStore: true})
	if err == nil {
		st, err = pub.client.WaitPublish(ctx, st.ID, 50*time.Millisecond, nil)
	}
	if cerr := pub.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cid.Undef, fmt.Errorf("publish: %w", err)
	}
	fmt.Fprintf(w, "published: %s in %v\n", cid.Cid(st.Root), time.Since(start).Round(time.Millisecond))
	return cid.Cid(st.Root), nil
}

// startDemoMesh starts demoMembers daemons with fresh data directories that
// share a new cluster key and join through the first one, on 127.0.0.1.
func startDemoMesh(ctx context.Context, dir, originDir string) ([]*demoDaemon, error) {
	key := filepath.Join(dir, "cluster.key")
	f, err := os.OpenFile(key, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	err = auth.GenerateKey(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	var members []*demoDaemon
	var bootstrap []string
	for i := range demoMembers {
		m, err := startDemoDaemon(ctx, filepath.Join(dir, fmt.Sprintf("member-%d", i+1)), originDir, node.MeshConfig{
			ClusterKeys: []string{key},
			Listen:      []string{"/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0"},
			Bootstrap:   bootstrap,
			Region:      "demo",
		})
		if err != nil {
			return members, fmt.Errorf("start daemon %d: %w", i+1, err)
		}
		members = append(members, m)
		if i == 0 {
			id, err := m.client.ID(ctx)
			if err != nil {
				return members, err
			}
			bootstrap = id.Addrs
		}
	}
	return members, nil
}

func waitForHolder(ctx context.Context, n *node.Node, root cid.Cid) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		hs, err := n.FindHolders(ctx, root)
		if err == nil && len(hs) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no daemon announced %s within 30 s: %v", root, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
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
