package emulate

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/mesh/auth"
)

// daemonPort is the UDP port every daemon listens on (QUIC), each on its
// own address.
const daemonPort = 4001

// prepareOrigin writes the dataset, publishes it with a daemon that keeps no
// data blocks (so every pin starts cold; the CAR with the metadata lands in
// the folder, where pins find it), then serves the folder with nginx.
func (e *emulation) prepareOrigin(ctx context.Context) (cid.Cid, error) {
	data := e.path("origin", "data")
	e.log.Info("writing dataset", "bytes", e.sc.Dataset.Size, "files", e.sc.Dataset.Files)
	if err := writeDataset(data, e.sc.Dataset.Size, e.sc.Dataset.Files, 1); err != nil {
		return cid.Undef, fmt.Errorf("write dataset: %w", err)
	}
	cfg := daemonConfig{
		DataDir:      e.path("publisher", "data"),
		Socket:       e.path("publisher", "api.sock"),
		AllowOrigins: []string{"file://" + data},
		LogLevel:     "warn",
	}
	if err := os.MkdirAll(e.path("publisher"), 0o755); err != nil {
		return cid.Undef, err
	}
	// The publisher runs in the origin's namespace; it reads the folder
	// directly and joins no mesh, so it sends no packet.
	pub, err := e.start(ctx, e.top.Origin, cfg, e.path("publisher", "daemon.log"))
	if err != nil {
		return cid.Undef, err
	}
	st, err := pub.client.Publish(ctx, api.PublishRequest{Origin: "file://" + data, NoStore: true})
	if err == nil {
		st, err = pub.client.WaitPublish(ctx, st.ID, 100*time.Millisecond, nil)
	}
	e.forget(pub)
	pub.stop(10 * time.Second)
	if err != nil {
		return cid.Undef, fmt.Errorf("publish: %w", err)
	}
	if st.State != api.PublishDone {
		return cid.Undef, fmt.Errorf("publish: %s: %s", st.State, st.Error)
	}
	e.origin, err = startOrigin(ctx, e.top.Origin, e.path("origin", "nginx"), data)
	if err != nil {
		return cid.Undef, err
	}
	e.log.Info("published", "root", cid.Cid(st.Root), "origin", e.origin.URL)
	return cid.Cid(st.Root), nil
}

// start starts a daemon and waits until it answers; the emulation owns it
// from then on (teardown kills it).
func (e *emulation) start(ctx context.Context, h host, cfg daemonConfig, logPath string) (*daemon, error) {
	d, err := startDaemon(h, e.opt.Meshcache, cfg, logPath)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.daemons = append(e.daemons, d)
	e.mu.Unlock()
	if err := d.waitReady(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// forget drops d from the daemons teardown kills (its caller stops it).
func (e *emulation) forget(d *daemon) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, x := range e.daemons {
		if x == d {
			e.daemons = append(e.daemons[:i], e.daemons[i+1:]...)
			return
		}
	}
}

// startMesh starts a daemon on every node: the first, then the others
// bootstrapping from it; then waits until every member sees the others.
func (e *emulation) startMesh(ctx context.Context) error {
	key := e.path("cluster.key")
	var buf bytes.Buffer
	if err := auth.GenerateKey(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(key, buf.Bytes(), 0o600); err != nil {
		return err
	}
	var bootstrap []string
	for i, h := range e.top.Nodes {
		if e.opt.FailAfterDaemons > 0 && i == e.opt.FailAfterDaemons {
			return fmt.Errorf("%w after %d of %d daemons", ErrInjected, i, len(e.top.Nodes))
		}
		name := h.Port
		if err := os.MkdirAll(e.path("nodes", name), 0o755); err != nil {
			return err
		}
		cfg := daemonConfig{
			DataDir:         e.path("nodes", name, "data"),
			Socket:          e.path("nodes", name, "api.sock"),
			AllowOrigins:    []string{e.origin.URL},
			ClusterKey:      key,
			Listen:          fmt.Sprintf("/ip4/%s/udp/%d/quic-v1", h.Addr, daemonPort),
			Bootstrap:       bootstrap,
			Region:          e.sc.Regions[h.Region].Name,
			PieceBlocks:     e.sc.Dataset.PieceBlocks,
			ProgressTimeout: e.sc.ProgressTimeout,
			LogLevel:        cmp.Or(e.opt.DaemonLogLevel, "info"),
		}
		d, err := e.start(ctx, h, cfg, e.path("nodes", name, "daemon.log"))
		if err != nil {
			return err
		}
		if i == 0 {
			id, err := d.client.ID(ctx)
			if err != nil {
				return fmt.Errorf("id of %s: %w", name, err)
			}
			bootstrap = []string{fmt.Sprintf("%s/p2p/%s", cfg.Listen, id.PeerID)}
		}
	}
	return e.waitMesh(ctx)
}

// waitMesh waits until every daemon lists every other as an authenticated
// peer, or 60 s pass (then the pins start anyway: the mesh may still fill
// in through the DHT, and the report shows the result).
func (e *emulation) waitMesh(ctx context.Context) error {
	want := len(e.top.Nodes) - 1
	deadline := time.Now().Add(60 * time.Second)
	for {
		short := []string{}
		for _, d := range e.daemonsNow() {
			ps, err := d.client.Peers(ctx)
			if err != nil {
				return fmt.Errorf("peers of %s: %w", d.host.Port, err)
			}
			n := 0
			for _, p := range ps {
				if p.Authenticated {
					n++
				}
			}
			if n < want {
				short = append(short, fmt.Sprintf("%s:%d", d.host.Port, n))
			}
		}
		if len(short) == 0 {
			e.log.Info("mesh formed", "members", want+1)
			return nil
		}
		if time.Now().After(deadline) {
			e.log.Warn("mesh incomplete; pinning anyway", "want peers", want, "short", strings.Join(short, " "))
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (e *emulation) daemonsNow() []*daemon {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*daemon(nil), e.daemons...)
}

func (e *emulation) daemonInfo() []DaemonInfo {
	var out []DaemonInfo
	for _, d := range e.daemonsNow() {
		out = append(out, DaemonInfo{
			Name: d.host.Port, Region: e.sc.Regions[d.host.Region].Name, Namespace: d.host.NS,
			PID: d.pid(), Addr: d.host.Addr.String(), Socket: d.cfg.Socket,
		})
	}
	return out
}
