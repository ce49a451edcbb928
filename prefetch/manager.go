package prefetch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/internal/atomicfile"
	"github.com/meshcache/meshcache/origin"
)

// ErrNotPinned: no pin exists for the root.
var ErrNotPinned = errors.New("not pinned")

// Config configures a Manager.
type Config struct {
	// Dir holds pin records (Dir/pins) and dataset indexes (Dir/index).
	Dir   string
	Store blockstore.Store
	// Open opens origins (with the daemon's allowlist).
	Open OpenOrigin
	// Peers gives the mesh's block sources for a dataset, asked in order
	// before the origin (they need the root to find holders); nil on a
	// node without peers.
	Peers func(root cid.Cid) []Source
	// Coordinator, when set, shares the region's origin reads of a
	// dataset among the members pinning it (the mesh); nil reads every
	// piece itself.
	Coordinator Coordinator
	// PieceBlocks is the piece size in blocks (policy.DefaultPieceBlocks
	// when 0). Ownership is decided per piece, so every member of a
	// cluster must use the same value.
	PieceBlocks int
	// OnPinned, when set, is told of every pin that completes (the mesh
	// then announces the node as a holder). It must return quickly.
	OnPinned func(root cid.Cid)
	// OnUnpinned, when set, is told of every unpin (the mesh then stops
	// announcing the node as a holder). It must return quickly.
	OnUnpinned func(root cid.Cid)
	// Workers is how many batches a pin fetches at once (default 4).
	Workers int
	// Batch is how many blocks one fetch asks for (default 16: one 16 MiB
	// ranged read at the origin).
	Batch int
	// ReadAhead is how many blocks a sequential read fetches ahead (default 8).
	ReadAhead int
	Origin    OriginConfig
	// Lost, when set, signals that the store dropped blocks it found
	// corrupt; the manager then fetches whatever its pins lack (see
	// repair.go). A signal may stand for many blocks.
	Lost   <-chan struct{}
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Validate reports the first invalid field.
func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return errors.New("prefetch: Config.Dir is empty")
	case c.Store == nil:
		return errors.New("prefetch: Config.Store is nil")
	case c.Open == nil:
		return errors.New("prefetch: Config.Open is nil")
	case c.PieceBlocks < 0:
		return fmt.Errorf("prefetch: Config.PieceBlocks %d is negative", c.PieceBlocks)
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Batch <= 0 {
		c.Batch = 16
	}
	if c.ReadAhead <= 0 {
		c.ReadAhead = 8
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	c.Origin.setDefaults()
}

// pinRecord is what survives a restart: enough to resume the pin.
type pinRecord struct {
	Root   string `json:"root"`
	Origin string `json:"origin,omitempty"`
	State  State  `json:"state"`
	Error  string `json:"error,omitempty"`
}

// job is one pin, running or finished.
type job struct {
	rec    pinRecord
	root   cid.Cid
	prog   *progress
	cancel context.CancelFunc
	done   chan struct{}
	// recheck: the store lost blocks while this pin ran; check the
	// dataset again once it ends.
	recheck atomic.Bool
	// work is the running fetch's state that the block server consults.
	work atomic.Pointer[pinWork]
}

// Manager pins datasets and serves read-through. It owns the pin goroutines:
// Run starts them (resuming pins interrupted by a restart) and stops them
// when its context ends.
type Manager struct {
	cfg     Config
	log     *slog.Logger
	catalog *Catalog
	reads   *readThrough

	bytesMu sync.Mutex
	bytes   map[string]int64 // bytes by source, pins and reads together

	pinMu   sync.Mutex // orders Pin's and Unpin's changes to the store and the jobs
	mu      sync.Mutex
	jobs    map[cid.Cid]*job
	runCtx  context.Context
	wg      sync.WaitGroup
	started chan struct{}
	repairs chan struct{} // a pin that ran while blocks were lost has ended
}

// New returns a Manager; call Run to start it.
func New(cfg Config) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	pinDir := filepath.Join(cfg.Dir, "pins")
	if err := os.MkdirAll(pinDir, 0o755); err != nil {
		return nil, fmt.Errorf("prefetch: %w", err)
	}
	log := cfg.Logger.With("component", "prefetch")
	cat, err := NewCatalog(filepath.Join(cfg.Dir, "index"), cfg.Store, cfg.Open, log)
	if err != nil {
		return nil, err
	}
	for _, dir := range []string{pinDir, filepath.Join(cfg.Dir, "index")} {
		if err := removeTemps(dir, log); err != nil {
			return nil, fmt.Errorf("prefetch: %w", err)
		}
	}
	m := &Manager{cfg: cfg, log: log, catalog: cat, jobs: map[cid.Cid]*job{}, bytes: map[string]int64{}, started: make(chan struct{}), repairs: make(chan struct{}, 1)}
	m.reads = newReadThrough(m)
	return m, m.load()
}

// Catalog returns the manager's dataset catalog.
func (m *Manager) Catalog() *Catalog { return m.catalog }

// load reads the pin records left by the previous run.
func (m *Manager) load() error {
	ents, err := os.ReadDir(filepath.Join(m.cfg.Dir, "pins"))
	if err != nil {
		return fmt.Errorf("load pins: %w", err)
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(m.cfg.Dir, "pins", e.Name()))
		if err != nil {
			return fmt.Errorf("load pins: %w", err)
		}
		var rec pinRecord
		if err := json.Unmarshal(data, &rec); err != nil {
			return fmt.Errorf("load pin %s: %w", e.Name(), err)
		}
		root, err := cid.Decode(rec.Root)
		if err != nil {
			return fmt.Errorf("load pin %s: %w", e.Name(), err)
		}
		m.jobs[root] = &job{rec: rec, root: root, prog: newProgress(m.cfg.Now()), done: closedChan()}
	}
	return nil
}

// Run resumes unfinished pins and runs until ctx ends, then waits for every
// pin goroutine to stop.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	m.runCtx = ctx
	for _, j := range m.jobs {
		if j.rec.State == StateQueued || j.rec.State == StatePinning {
			m.log.Info("resuming pin", "root", j.root)
			m.startLocked(j)
		}
	}
	if m.cfg.Lost != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.repairLoop(ctx)
		}()
	}
	m.mu.Unlock()
	close(m.started)
	<-ctx.Done()
	m.wg.Wait()
	m.reads.wait()
	return m.catalog.Close()
}

// Pin makes every block of root local. It learns the dataset (through
// originURL if the node has not seen it), reserves its size in the store —
// refusing a pin that cannot fit before anything is fetched — records the
// pin durably and fetches in the background. Pinning a pinned or pinning
// root returns its status.
func (m *Manager) Pin(ctx context.Context, root cid.Cid, originURL string) (Status, error) {
	select {
	case <-m.started:
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
	if st, ok := m.current(root, originURL); ok {
		return st, nil
	}

	// Learning a dataset can take long (a CAR download, or a whole import):
	// it runs without the lock, so concurrent Pins of one root meet again
	// below.
	idx, err := m.catalog.Index(ctx, root, originURL)
	if err != nil {
		return Status{}, err
	}
	if originURL == "" {
		originURL = m.catalog.ReadOrigin(idx.Record())
	} else if err := m.catalog.remember(root, originURL); err != nil {
		return Status{}, err
	}
	// pinMu keeps the store's pin and the job table in step: an Unpin
	// running between the two would otherwise drop the store's pin of a
	// job that goes on running unprotected.
	m.pinMu.Lock()
	defer m.pinMu.Unlock()
	if err := m.cfg.Store.Pin(ctx, root, idx.TotalSize()); err != nil {
		return Status{}, fmt.Errorf("pin %s: %w", root, err)
	}
	m.mu.Lock()
	if j := m.jobs[root]; j != nil && j.rec.State != StateFailed && origin.SameLocation(j.rec.Origin, originURL) {
		// Another Pin of the same root and origin got here first.
		st := m.statusLocked(j)
		m.mu.Unlock()
		return st, nil
	}
	old := m.jobs[root]
	j := &job{root: root, rec: pinRecord{Root: root.String(), Origin: originURL, State: StateQueued}, prog: newProgress(m.cfg.Now())}
	if err := m.saveLocked(j); err != nil {
		m.mu.Unlock()
		return Status{}, err
	}
	var oldCancel context.CancelFunc
	var oldDone chan struct{}
	if old != nil {
		oldCancel, oldDone = old.cancel, old.done
	}
	m.jobs[root] = j
	m.startLocked(j)
	st := m.statusLocked(j)
	m.mu.Unlock()
	// The replaced job's state updates are no longer recorded; stop it and
	// wait without the lock, which it takes to finish.
	if oldCancel != nil {
		oldCancel()
		<-oldDone
	}
	return st, nil
}

// current returns the status of root's pin when one is running or done
// with originURL ("" matches any origin), so that pinning again is a no-op.
func (m *Manager) current(root cid.Cid, originURL string) (Status, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[root]
	if j == nil || j.rec.State == StateFailed || (originURL != "" && !origin.SameLocation(originURL, j.rec.Origin)) {
		return Status{}, false
	}
	return m.statusLocked(j), true
}

// Unpin stops a pin and releases its blocks to eviction.
func (m *Manager) Unpin(ctx context.Context, root cid.Cid) error {
	m.pinMu.Lock()
	defer m.pinMu.Unlock()
	m.mu.Lock()
	j := m.jobs[root]
	if j == nil {
		m.mu.Unlock()
		return fmt.Errorf("unpin %s: %w", root, ErrNotPinned)
	}
	delete(m.jobs, root)
	cancel, done := j.cancel, j.done // Run may be starting j: read them under the lock
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	<-done
	if err := os.Remove(m.pinPath(root)); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("unpin %s: %w", root, err)
	}
	if m.cfg.OnUnpinned != nil {
		m.cfg.OnUnpinned(root)
	}
	if err := m.cfg.Store.Unpin(ctx, root); err != nil && !errors.Is(err, blockstore.ErrNotFound) {
		return fmt.Errorf("unpin %s: %w", root, err)
	}
	return nil
}

// Status reports one pin.
func (m *Manager) Status(root cid.Cid) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j := m.jobs[root]
	if j == nil {
		return Status{}, fmt.Errorf("pin %s: %w", root, ErrNotPinned)
	}
	return m.statusLocked(j), nil
}

// Pins reports every pin.
func (m *Manager) Pins() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, 0, len(m.jobs))
	for _, j := range m.jobs {
		out = append(out, m.statusLocked(j))
	}
	return out
}

// Wait blocks until the pin of root finishes (or ctx ends) and returns its
// final status.
func (m *Manager) Wait(ctx context.Context, root cid.Cid) (Status, error) {
	// Before Run, a pin loaded from disk has not been resumed yet: its job
	// looks finished.
	select {
	case <-m.started:
	case <-ctx.Done():
		return Status{}, ctx.Err()
	}
	for {
		m.mu.Lock()
		j := m.jobs[root]
		m.mu.Unlock()
		if j == nil {
			return Status{}, fmt.Errorf("pin %s: %w", root, ErrNotPinned)
		}
		select {
		case <-j.done:
		case <-ctx.Done():
			return Status{}, ctx.Err()
		}
		m.mu.Lock()
		if m.jobs[root] == j {
			st := m.statusLocked(j)
			m.mu.Unlock()
			return st, nil
		}
		m.mu.Unlock() // replaced by a new pin meanwhile: wait for that one
	}
}

func (m *Manager) statusLocked(j *job) Status {
	st := Status{Root: j.root, Origin: j.rec.Origin, State: j.rec.State, Error: j.rec.Error}
	j.prog.fill(&st, m.cfg.Now())
	if st.State != StatePinning {
		st.Rate, st.ETA = 0, 0
	}
	return st
}

func (m *Manager) pinPath(root cid.Cid) string {
	return filepath.Join(m.cfg.Dir, "pins", root.String()+".json")
}

func (m *Manager) saveLocked(j *job) error {
	data, err := json.Marshal(j.rec)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(m.pinPath(j.root), data, 0o644)
}

// setState records a job's state durably.
func (m *Manager) setState(j *job, st State, errMsg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.jobs[j.root] != j {
		return // unpinned or replaced meanwhile
	}
	j.rec.State, j.rec.Error = st, errMsg
	if err := m.saveLocked(j); err != nil {
		m.log.Error("save pin state", "root", j.root, "err", err)
	}
}

// startLocked runs j in a goroutine owned by the manager.
func (m *Manager) startLocked(j *job) {
	ctx, cancel := context.WithCancel(m.runCtx)
	j.cancel = cancel
	j.done = make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(j.done)
		defer cancel()
		m.runJob(ctx, j)
	}()
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// count adds n bytes fetched from source to the node's totals.
func (m *Manager) count(source string, n int64) {
	m.bytesMu.Lock()
	m.bytes[source] += n
	m.bytesMu.Unlock()
}

// BytesBySource reports the bytes this node obtained from each source
// (SourceLocal: blocks a pin found already held) since start.
func (m *Manager) BytesBySource() map[string]int64 {
	m.bytesMu.Lock()
	defer m.bytesMu.Unlock()
	out := make(map[string]int64, len(m.bytes))
	for k, v := range m.bytes {
		out[k] = v
	}
	return out
}

// runContext is the context of Run, or nil before Run or after it ended.
func (m *Manager) runContext() context.Context {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runCtx == nil || m.runCtx.Err() != nil {
		return nil
	}
	return m.runCtx
}
