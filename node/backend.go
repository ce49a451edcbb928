package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/origin"
	"github.com/meshcache/meshcache/prefetch"
)

// backend adapts the node's components to the API.
type backend struct{ n *Node }

var _ api.Backend = backend{}

func (b backend) Open(ctx context.Context, root cid.Cid, path string) (api.Node, error) {
	f, e, err := b.n.prefetch.Open(ctx, root, path)
	if err != nil {
		return api.Node{}, apiError(fmt.Errorf("open %s/%s: %w", root, path, err))
	}
	if f != nil {
		return api.Node{File: datasetFile{f: f, c: e.CID}}, nil
	}
	ents, err := b.n.prefetch.ReadDir(ctx, root, path)
	if err != nil {
		return api.Node{}, apiError(err)
	}
	dir := &api.Dir{CID: api.CID(e.CID), Entries: make([]api.DirEntry, 0, len(ents))}
	for _, de := range ents {
		t := api.TypeFile
		if de.IsDir {
			t = api.TypeDir
		}
		dir.Entries = append(dir.Entries, api.DirEntry{Name: de.Name, Type: t, Size: de.Size, CID: api.CID(de.CID)})
	}
	return api.Node{Dir: dir}, nil
}

// datasetFile is a dataset file as the API streams it.
type datasetFile struct {
	f *prefetch.File
	c cid.Cid
}

func (d datasetFile) CID() cid.Cid { return d.c }
func (d datasetFile) Size() int64  { return d.f.Size() }
func (d datasetFile) Close() error { return nil }
func (d datasetFile) WriteRange(ctx context.Context, w io.Writer, off, n int64) (int64, error) {
	k, err := d.f.WriteRange(ctx, w, off, n)
	return k, apiError(err)
}

func (b backend) Block(ctx context.Context, c cid.Cid) (api.File, error) {
	blk, err := b.n.store.Get(ctx, c)
	if err != nil {
		return nil, apiError(fmt.Errorf("block %s: %w", c, err))
	}
	return blockFile{c: c, data: blk.RawData()}, nil
}

// blockFile is one raw block held in memory (at most 2 MiB).
type blockFile struct {
	c    cid.Cid
	data []byte
}

func (f blockFile) CID() cid.Cid { return f.c }
func (f blockFile) Size() int64  { return int64(len(f.data)) }
func (f blockFile) Close() error { return nil }
func (f blockFile) WriteRange(_ context.Context, w io.Writer, off, n int64) (int64, error) {
	k, err := w.Write(f.data[off : off+n])
	return int64(k), err
}

func (b backend) Pin(ctx context.Context, req api.PinRequest) (api.PinStatus, error) {
	st, err := b.n.prefetch.Pin(ctx, cid.Cid(req.CID), req.Origin)
	if err != nil {
		return api.PinStatus{}, apiError(err)
	}
	return pinStatus(st), nil
}

func (b backend) Pins(context.Context) ([]api.PinStatus, error) {
	sts := b.n.prefetch.Pins()
	out := make([]api.PinStatus, 0, len(sts))
	for _, st := range sts {
		out = append(out, pinStatus(st))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out, nil
}

func (b backend) PinStatus(_ context.Context, c cid.Cid) (api.PinStatus, error) {
	st, err := b.n.prefetch.Status(c)
	if err != nil {
		return api.PinStatus{}, apiError(err)
	}
	return pinStatus(st), nil
}

func (b backend) Unpin(ctx context.Context, c cid.Cid) error {
	return apiError(b.n.prefetch.Unpin(ctx, c))
}

func (b backend) Publish(ctx context.Context, req api.PublishRequest) (api.PublishStatus, error) {
	// An origin outside the allowlist is refused now (403 with the
	// --allow-origin hint), not accepted as a job that can only fail.
	// Opening reads nothing from the origin.
	if _, err := b.n.origins.Open(ctx, req.Origin); errors.Is(err, origin.ErrNotAllowed) {
		return api.PublishStatus{}, apiError(err)
	}
	return b.n.publishes.start(req)
}

func (b backend) PublishStatus(_ context.Context, id string) (api.PublishStatus, error) {
	return b.n.publishes.get(id)
}

func (b backend) GC(ctx context.Context) (api.GCResult, error) {
	res, err := b.n.store.GC(ctx)
	if err != nil {
		return api.GCResult{}, apiError(err)
	}
	return api.GCResult{BlocksRemoved: res.BlocksRemoved, BytesRemoved: res.BytesRemoved}, nil
}

func (b backend) Stats(ctx context.Context) (api.Stats, error) {
	return b.n.stats(ctx)
}

func (b backend) ID(context.Context) (api.Identity, error) {
	if b.n.mesh == nil {
		return api.Identity{}, noMesh()
	}
	id := b.n.mesh.identity()
	id.Version = Version
	return id, nil
}

func (b backend) Peers(context.Context) ([]api.PeerInfo, error) {
	if b.n.mesh == nil {
		return nil, noMesh()
	}
	return b.n.mesh.peers(), nil
}

func (b backend) Metrics() http.Handler { return b.n.metrics }

func pinStatus(st prefetch.Status) api.PinStatus {
	return api.PinStatus{
		CID:         api.CID(st.Root),
		Origin:      st.Origin,
		State:       api.PinState(st.State),
		Error:       st.Error,
		BytesDone:   st.BytesDone,
		BytesTotal:  st.BytesTotal,
		BlocksDone:  st.BlocksDone,
		BlocksTotal: st.BlocksTotal,
		BySource: api.SourceBytes{
			Local:  st.BySource[prefetch.SourceLocal],
			Peer:   st.BySource[prefetch.SourcePeer] + st.BySource[prefetch.SourceRemotePeer],
			Origin: st.BySource[prefetch.SourceOrigin],
		},
		CrossRegionBytes: st.CrossRegion,
		Rate:             st.Rate,
		ETASeconds:       st.ETA.Seconds(),
		Started:          st.Started,
		Updated:          st.Updated,
	}
}
