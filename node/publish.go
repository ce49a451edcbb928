package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/dataset"
	"github.com/meshcache/meshcache/origin"
)

// publishJob is one publish, running or finished. Jobs live in memory: a
// publish interrupted by a restart is simply run again by its caller.
type publishJob struct {
	mu sync.Mutex
	st api.PublishStatus
}

func (j *publishJob) status() api.PublishStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.st
}

func (j *publishJob) update(fn func(st *api.PublishStatus)) {
	j.mu.Lock()
	fn(&j.st)
	j.st.Updated = time.Now()
	j.mu.Unlock()
}

// publishJobs keeps publish jobs and owns their goroutines.
type publishJobs struct {
	n  *Node
	wg sync.WaitGroup

	mu   sync.Mutex
	jobs map[string]*publishJob
	ctx  context.Context // Run's context, nil when not running
}

func (p *publishJobs) start(req api.PublishRequest) (api.PublishStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil || p.ctx.Err() != nil {
		return api.PublishStatus{}, api.Errorf(503, api.CodeNotAvailable, "the daemon is shutting down")
	}
	id := newJobID()
	now := time.Now()
	j := &publishJob{st: api.PublishStatus{ID: id, Origin: req.Origin, State: api.PublishQueued, Started: now, Updated: now}}
	p.jobs[id] = j
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.run(p.ctx, j, req)
	}()
	return j.status(), nil
}

func (p *publishJobs) get(id string) (api.PublishStatus, error) {
	p.mu.Lock()
	j := p.jobs[id]
	p.mu.Unlock()
	if j == nil {
		return api.PublishStatus{}, api.NotFound("no publish job %q (jobs are forgotten when the daemon restarts)", id)
	}
	return j.status(), nil
}

func (p *publishJobs) run(ctx context.Context, j *publishJob, req api.PublishRequest) {
	j.update(func(st *api.PublishStatus) { st.State = api.PublishRunning })
	root, err := p.publish(ctx, j, req)
	j.update(func(st *api.PublishStatus) {
		if err != nil {
			st.State, st.Error = api.PublishFailed, err.Error()
			return
		}
		st.State, st.Root = api.PublishDone, api.CID(root.Root)
	})
	if err != nil {
		p.n.log.Error("publish failed", "origin", req.Origin, "err", err)
	} else {
		p.n.log.Info("published", "origin", req.Origin, "root", root.Root, "bytes", root.BytesRead, "took", root.Duration)
	}
}

func (p *publishJobs) publish(ctx context.Context, j *publishJob, req api.PublishRequest) (*dataset.PublishResult, error) {
	var opts []origin.OpenOption
	if len(req.Files) > 0 {
		opts = append(opts, origin.WithFiles(req.Files))
	}
	o, err := p.n.origins.Open(ctx, req.Origin, opts...)
	if err != nil {
		return nil, err
	}
	res, err := dataset.Publish(ctx, o, dataset.PublishOptions{
		Store:   p.n.store,
		NoStore: req.NoStore,
		Logger:  p.n.log.With("component", "publish"),
		Progress: func(pr dataset.Progress) {
			j.update(func(st *api.PublishStatus) {
				st.FilesDone, st.FilesTotal = int64(pr.Files), int64(pr.FilesTotal)
				st.BytesDone, st.BytesTotal = pr.Bytes, pr.BytesTotal
			})
		},
	})
	if err != nil {
		return nil, fmt.Errorf("publish %s: %w", o.URL(), err)
	}
	if _, err := p.n.prefetch.Catalog().Add(ctx, res.Record); err != nil {
		return nil, fmt.Errorf("index published dataset %s: %w", res.Root, err)
	}
	return res, nil
}

func newJobID() string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b[:])
}
