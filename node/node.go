package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ipfs/go-cid"
	"golang.org/x/sync/errgroup"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/dataset"
	"github.com/meshcache/meshcache/origin"
	"github.com/meshcache/meshcache/prefetch"
)

// Version is the daemon's version string.
const Version = "0.1.0-dev"

// Node is one meshcache daemon.
type Node struct {
	cfg       Config
	log       *slog.Logger
	store     blockstore.Store
	runStore  func(ctx context.Context) error // the store's background scrub
	origins   *origin.Opener
	prefetch  *prefetch.Manager
	publishes *publishJobs
	handler   *api.Handler
	metrics   http.Handler
	started   time.Time
	// mesh is nil on a daemon without cluster keys; set by Run before the
	// API serves.
	mesh *meshNode

	closeOnce sync.Once
}

// New opens the data directory and wires the components. Run serves.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dataset.ApplyProfile()
	log := cfg.Logger
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	n := &Node{cfg: cfg, log: log, started: time.Now()}
	var err error
	n.origins, err = origin.NewOpener(origin.Config{Allow: cfg.AllowOrigins, S3: cfg.S3, Logger: log})
	if err != nil {
		return nil, err
	}
	// The store tells the pin manager of blocks it drops as corrupt (the
	// scrub finds them with no reader waiting), so that pins get them
	// back. The channel is made first: the store may drop blocks while it
	// opens, before the manager exists.
	lost := make(chan struct{}, 1)
	n.store, n.runStore, err = openStore(cfg, func(cid.Cid) {
		select {
		case lost <- struct{}{}:
		default: // a repair is already due; it will see this block too
		}
	})
	if err != nil {
		return nil, err
	}
	pcfg := prefetch.Config{
		Dir:    cfg.DataDir,
		Store:  n.store,
		Lost:   lost,
		Batch:  cfg.FetchBatch,
		Open:   func(ctx context.Context, u string) (origin.Origin, error) { return n.origins.Open(ctx, u) },
		Logger: log,
	}
	if cfg.Mesh.enabled() {
		// n.mesh is set by Run before anything can pin or read.
		pcfg.Peers = func(root cid.Cid) []prefetch.Source {
			src := []prefetch.Source{peerSource{m: n.mesh, root: root}}
			if cfg.Mesh.CrossRegion {
				src = append(src, peerSource{m: n.mesh, root: root, remote: true})
			}
			return src
		}
		pcfg.OnPinned = func(root cid.Cid) { n.mesh.announce(root) }
		pcfg.OnUnpinned = func(root cid.Cid) { n.mesh.discovery.Unprovide(root, cfg.Mesh.Region) }
		pcfg.Coordinator = coordinator{n: n}
		pcfg.PieceBlocks = cfg.Mesh.PieceBlocks
	}
	n.prefetch, err = prefetch.New(pcfg)
	if err != nil {
		n.store.Close()
		return nil, err
	}
	n.publishes = &publishJobs{n: n, jobs: map[string]*publishJob{}}
	n.metrics = newMetrics(n)
	admins, err := n.admins()
	if err != nil {
		n.store.Close()
		return nil, err
	}
	n.handler, err = api.NewHandler(api.HandlerConfig{Backend: backend{n}, Logger: log.With("component", "api"), Admins: admins})
	if err != nil {
		n.store.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) admins() (api.Admins, error) {
	grp, err := lookupGroup(n.cfg.AdminGroup)
	if err != nil {
		return api.Admins{}, err
	}
	return api.Admins{DaemonUID: uint32(os.Getuid()), Group: grp}, nil
}

// Handler is the API's http.Handler (for serving it elsewhere in tests).
func (n *Node) Handler() http.Handler { return n.handler }

// Run serves the API on the unix socket and runs pins and the store's
// scrub until ctx ends, then shuts everything down and closes the store.
func (n *Node) Run(ctx context.Context) error {
	defer n.close()
	gid := -1
	if g, _ := lookupGroup(n.cfg.SocketGroup); g != nil {
		gid = int(g.GID)
	}
	ln, err := api.Listen(n.cfg.SocketPath, 0o660, gid)
	if err != nil {
		return err
	}
	srv, err := api.NewServer(api.ServerConfig{Handler: n.handler, Logger: n.log.With("component", "api")})
	if err != nil {
		ln.Close()
		return err
	}
	if n.cfg.Mesh.enabled() {
		if n.mesh, err = n.startMesh(ctx); err != nil {
			ln.Close()
			return fmt.Errorf("start mesh: %w", err)
		}
		defer n.mesh.close()
	}
	g, gctx := errgroup.WithContext(ctx)
	if n.mesh != nil {
		var pinned []cid.Cid
		for _, p := range n.prefetch.Pins() {
			if p.State == prefetch.StatePinned {
				pinned = append(pinned, p.Root)
			}
		}
		g.Go(func() error { return n.mesh.run(gctx, pinned) })
	}
	n.publishes.mu.Lock()
	n.publishes.ctx = gctx
	n.publishes.mu.Unlock()
	g.Go(func() error { return n.prefetch.Run(gctx) })
	if n.runStore != nil {
		g.Go(func() error { return n.runStore(gctx) })
	}
	g.Go(func() error { return srv.Serve(gctx, ln) })
	n.log.Info("meshcache daemon running", "socket", n.cfg.SocketPath, "data", n.cfg.DataDir,
		"allowed_origins", len(n.cfg.AllowOrigins), "version", Version)
	err = g.Wait()
	n.publishes.wg.Wait()
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil
	}
	n.log.Info("meshcache daemon stopped")
	return err
}

func (n *Node) close() {
	n.closeOnce.Do(func() {
		if err := n.store.Close(); err != nil {
			n.log.Error("close block store", "err", err)
		}
		n.origins.Close()
	})
}

// stats gathers the figures of GET /v1/stats.
func (n *Node) stats(ctx context.Context) (api.Stats, error) {
	ss, err := n.store.Stat(ctx)
	if err != nil {
		return api.Stats{}, apiError(err)
	}
	st := api.Stats{
		Version: Version,
		Started: n.started,
		Store: api.StoreStats{
			Blocks: ss.Blocks, Bytes: ss.Bytes, Capacity: ss.Capacity, PinnedBytes: ss.PinnedBytes,
			Corrupt: ss.Corrupt, Evicted: ss.Evicted, EvictedBytes: ss.EvictedBytes, VerifiedReads: ss.VerifiedReads,
		},
	}
	for _, p := range n.prefetch.Pins() {
		st.Pins.Total++
		switch p.State {
		case prefetch.StatePinned:
			st.Pins.Pinned++
		case prefetch.StateFailed:
			st.Pins.Failed++
		default:
			st.Pins.Pinning++
		}
	}
	if n.mesh != nil {
		st.Peers = n.mesh.stats()
	}
	by := n.prefetch.BytesBySource()
	st.BytesBySource = api.SourceBytes{Local: by[prefetch.SourceLocal], Peer: by[prefetch.SourcePeer] + by[prefetch.SourceRemotePeer], Origin: by[prefetch.SourceOrigin]}
	st.CrossRegionBytes = by[prefetch.SourceRemotePeer]
	for u, b := range n.origins.BytesRead() {
		st.Origins = append(st.Origins, api.OriginStats{Origin: u, BytesRead: b})
	}
	sort.Slice(st.Origins, func(i, j int) bool { return st.Origins[i].Origin < st.Origins[j].Origin })
	return st, nil
}

// storeDir is where the block store keeps its files.
func storeDir(cfg Config) string { return filepath.Join(cfg.DataDir, "blocks") }
