package prefetch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
	"github.com/meshcache/meshcache/origin"
)

// recorderFor returns an OpenOrigin that hands out one recordingOrigin for
// the fixture's URL (however spelled), so reads are counted across opens.
func recorderFor(t testing.TB, f *fixture, rec *recordingOrigin) OpenOrigin {
	rec.Origin = f.origin(t)
	return func(ctx context.Context, u string) (origin.Origin, error) {
		if !origin.SameLocation(u, f.url) {
			return f.opener.Open(ctx, u)
		}
		return rec, nil
	}
}

// waitFor polls cond every few milliseconds for up to 30 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// checkHeld fails unless store holds every leaf of the fixture.
func checkHeld(t testing.TB, f *fixture, store blockstore.Store) {
	t.Helper()
	for _, w := range wants(t, f.index(t)) {
		b, err := store.Get(context.Background(), w.CID)
		if err != nil {
			t.Errorf("leaf %d (%s at %d): %v", w.Leaf, w.File.Path, w.Offset, err)
			continue
		}
		if !bytes.Equal(b.RawData(), f.leafBytes(w)) {
			t.Errorf("leaf %d holds other bytes", w.Leaf)
		}
	}
}

// TestManagerPinLifecycle follows one pin: it learns the dataset from the
// origin's CAR, reports pinning with known totals while its reads are
// held, ends pinned with every leaf stored and counted by source; pinning
// again is a no-op; unpinning forgets it.
func TestManagerPinLifecycle(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	gate := make(chan struct{})
	rec := &recordingOrigin{gate: gate}
	store := memStore(t)
	m := newManager(t, f, store, t.TempDir(), recorderFor(t, f, rec))
	startManager(t, m)

	if _, err := m.Pin(ctx, f.root, ""); !errors.Is(err, ErrUnknownDataset) {
		t.Fatalf("pin of an unknown dataset without origin: %v, want ErrUnknownDataset", err)
	}
	st, err := m.Pin(ctx, f.root, f.url)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateQueued && st.State != StatePinning {
		t.Fatalf("new pin is %s", st.State)
	}
	waitFor(t, "a held read", func() bool { return rec.held.Load() > 0 })
	st, _ = m.Status(f.root)
	if st.State != StatePinning || st.BytesTotal != f.size() || st.BlocksTotal != 6 || st.BytesDone != 0 {
		t.Errorf("while reads are held: %+v, want pinning with totals %d bytes, 6 blocks", st, f.size())
	}
	close(gate)
	st, err = m.Wait(ctx, f.root)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StatePinned || st.BytesDone != f.size() || st.BlocksDone != 6 || st.BySource[SourceOrigin] != f.size() || st.Error != "" {
		t.Errorf("done: %+v", st)
	}
	checkHeld(t, f, store)
	reads := len(rec.seen())

	again, err := m.Pin(ctx, f.root, f.url)
	if err != nil || again.State != StatePinned {
		t.Errorf("pin again: %+v, %v; want the pinned status", again, err)
	}
	if again, err = m.Pin(ctx, f.root, ""); err != nil || again.State != StatePinned {
		t.Errorf("pin again without origin: %+v, %v", again, err)
	}
	if n := len(rec.seen()); n != reads {
		t.Errorf("pinning a pinned dataset read the origin %d more times", n-reads)
	}
	if pins := m.Pins(); len(pins) != 1 || !pins[0].Root.Equals(f.root) {
		t.Errorf("pins %+v", pins)
	}
	if got := m.BytesBySource()[SourceOrigin]; got != f.size() {
		t.Errorf("manager counted %d origin bytes, want %d", got, f.size())
	}

	if err := m.Unpin(ctx, f.root); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Status(f.root); !errors.Is(err, ErrNotPinned) {
		t.Errorf("status after unpin: %v, want ErrNotPinned", err)
	}
	if err := m.Unpin(ctx, f.root); !errors.Is(err, ErrNotPinned) {
		t.Errorf("second unpin: %v, want ErrNotPinned", err)
	}
	if pins, _ := store.Pins(ctx); len(pins) != 0 {
		t.Errorf("store pins after unpin: %+v", pins)
	}
}

// TestManagerFailedPinRetries: a pin whose origin lacks a file fails with
// an error naming it; once the file is back, pinning again completes.
func TestManagerFailedPinRetries(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	p := filepath.Join(f.dir, "b", "c.bin")
	st0, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	store := memStore(t)
	m := newManager(t, f, store, t.TempDir(), nil)
	startManager(t, m)
	if _, err := m.Pin(ctx, f.root, f.url); err != nil {
		t.Fatal(err)
	}
	st, err := m.Wait(ctx, f.root)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateFailed || !strings.Contains(st.Error, "b/c.bin") {
		t.Fatalf("pin with a file missing at the origin: %+v, want failed naming b/c.bin", st)
	}

	if err := os.WriteFile(p, f.data["b/c.bin"], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, st0.ModTime(), st0.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Pin(ctx, f.root, ""); err != nil {
		t.Fatal(err)
	}
	if st, err = m.Wait(ctx, f.root); err != nil || st.State != StatePinned || st.Error != "" {
		t.Fatalf("pin again: %+v, %v", st, err)
	}
	if st.BySource[SourceLocal]+st.BySource[SourceOrigin] != f.size() {
		t.Errorf("second pin by source %v, want %d bytes in all", st.BySource, f.size())
	}
	checkHeld(t, f, store)
}

// TestManagerResumesAfterRestart stops the manager while a pin waits on the
// origin, then starts a new manager over the same directory and disk store:
// the pin is still recorded as pinning, resumes, and fetches only what was
// not stored before.
func TestManagerResumesAfterRestart(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	dir, storeDir := t.TempDir(), t.TempDir()
	openStore := func() *disk.Store {
		s, err := disk.New(disk.Config{Dir: storeDir, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	gate := make(chan struct{})
	defer close(gate)
	// Two reads pass: b/c.bin and "b/d/e f.txt", or a part of a.bin.
	rec := &recordingOrigin{gate: gate, allow: 2}
	store := openStore()
	m := newManager(t, f, store, dir, recorderFor(t, f, rec))
	stop := startManager(t, m)
	if _, err := m.Pin(ctx, f.root, f.url); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "two reads stored and one held", func() bool {
		st, _ := m.Status(f.root)
		return rec.held.Load() > 0 && st.BlocksDone >= 2
	})
	before, _ := m.Status(f.root)
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store = openStore()
	defer store.Close()
	rec2 := &recordingOrigin{}
	m = newManager(t, f, store, dir, recorderFor(t, f, rec2))
	if st, err := m.Status(f.root); err != nil || st.State != StatePinning {
		t.Fatalf("after restart, before Run: %+v, %v; want the pin recorded as pinning", st, err)
	}
	startManager(t, m)
	st, err := m.Wait(ctx, f.root)
	if err != nil || st.State != StatePinned {
		t.Fatalf("resumed pin: %+v, %v", st, err)
	}
	if st.BySource[SourceLocal] < before.BytesDone || st.BySource[SourceLocal]+st.BySource[SourceOrigin] != f.size() {
		t.Errorf("resumed pin by source %v; %d bytes were stored before the restart", st.BySource, before.BytesDone)
	}
	var reread int64
	for _, r := range rec2.seen() {
		reread += r.length
	}
	if reread != st.BySource[SourceOrigin] {
		t.Errorf("resumed pin read %d bytes from the origin, counted %d", reread, st.BySource[SourceOrigin])
	}
	checkHeld(t, f, store)
}

// TestManagerConcurrentPins: many Pins of one dataset at once, on a node
// that must first learn it, make one job that reads the origin once.
func TestManagerConcurrentPins(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	rec := &recordingOrigin{}
	m := newManager(t, f, memStore(t), t.TempDir(), recorderFor(t, f, rec))
	startManager(t, m)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Pin(ctx, f.root, f.url)
			errs <- err
		}()
	}
	allDone := make(chan struct{})
	go func() { wg.Wait(); close(allDone) }()
	select {
	case <-allDone:
	case <-time.After(10 * time.Second):
		t.Fatal("concurrent pins did not return: deadlocked")
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent pin: %v", err)
		}
	}
	st, err := m.Wait(ctx, f.root)
	if err != nil || st.State != StatePinned {
		t.Fatalf("pin: %+v, %v", st, err)
	}
	var read int64
	for _, r := range rec.seen() {
		read += r.length
	}
	if read != f.size() {
		t.Errorf("8 concurrent pins read %d bytes from the origin for a %d-byte dataset", read, f.size())
	}
}

// TestManagerRepinWithOtherOrigin: pinning a root again with another origin
// while its pin is running replaces the job, promptly (the old job must be
// stopped without holding the lock it needs to finish), and the new job
// completes. One core makes the old job least likely to have started.
func TestManagerRepinWithOtherOrigin(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	gate := make(chan struct{})
	rec := &recordingOrigin{gate: gate}
	m := newManager(t, f, memStore(t), t.TempDir(), recorderFor(t, f, rec))
	startManager(t, m)
	setProcs(t, 1)
	// Another location serving the same bytes (the opener allows it: the
	// allowlist compares real paths).
	mirror := filepath.Join(t.TempDir(), "mirror")
	if err := os.Symlink(f.dir, mirror); err != nil {
		t.Fatal(err)
	}
	spellings := []string{f.url, "file://" + mirror}
	for i := range 30 {
		u := spellings[i%len(spellings)]
		done := make(chan error, 1)
		go func() {
			_, err := m.Pin(ctx, f.root, u)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("pin %d from %s: %v", i, u, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("pin %d from %s did not return: deadlocked replacing the running pin", i, u)
		}
	}
	close(gate)
	st, err := m.Wait(ctx, f.root)
	if err != nil || st.State != StatePinned || st.Origin != spellings[29%len(spellings)] {
		t.Fatalf("after re-pins: %+v, %v", st, err)
	}
	if pins := m.Pins(); len(pins) != 1 {
		t.Errorf("%d pins, want 1", len(pins))
	}
	// Another spelling of the same origin is the same pin, not a new job.
	again, err := m.Pin(ctx, f.root, "file://localhost"+mirror+"/")
	if err != nil || again.State != StatePinned || !again.Started.Equal(st.Started) {
		t.Errorf("pin through another spelling of its origin: %+v, %v; want the pin as it was", again, err)
	}
}

// TestManagerRemembersLearnedOrigin: a node that learned a dataset through
// another origin than the one it was published from (and may not read that
// one) keeps reading through it after an unpin and a restart.
func TestManagerRemembersLearnedOrigin(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	mirror := filepath.Join(t.TempDir(), "mirror")
	if err := os.Symlink(f.dir, mirror); err != nil {
		t.Fatal(err)
	}
	mirrorURL := "file://" + mirror
	open := func(ctx context.Context, u string) (origin.Origin, error) {
		if !origin.SameLocation(u, mirrorURL) {
			return nil, &origin.Error{Kind: origin.ErrNotAllowed, Origin: u, Op: "open"}
		}
		return f.opener.Open(ctx, u)
	}
	dir, store := t.TempDir(), memStore(t)
	m := newManager(t, f, store, dir, open)
	stop := startManager(t, m)
	if _, err := m.Pin(ctx, f.root, mirrorURL); err != nil {
		t.Fatal(err)
	}
	if st, err := m.Wait(ctx, f.root); err != nil || st.State != StatePinned {
		t.Fatalf("pin through the mirror: %+v, %v", st, err)
	}
	if err := m.Unpin(ctx, f.root); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GC(ctx); err != nil {
		t.Fatal(err)
	}
	readAll(ctx, t, m, f, "after unpin")
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GC(ctx); err != nil {
		t.Fatal(err)
	}

	m = newManager(t, f, store, dir, open)
	startManager(t, m)
	readAll(ctx, t, m, f, "after restart")
	if _, err := m.Pin(ctx, f.root, ""); err != nil {
		t.Fatalf("pin without origin after restart: %v", err)
	}
	if st, err := m.Wait(ctx, f.root); err != nil || st.State != StatePinned || st.Origin != mirrorURL {
		t.Fatalf("pin without origin after restart: %+v, %v; want pinned through %s", st, err, mirrorURL)
	}
}

// readAll reads every file of the fixture through m (read-through).
func readAll(ctx context.Context, t testing.TB, m *Manager, f *fixture, stage string) {
	t.Helper()
	for p, data := range f.data {
		file, _, err := m.Open(ctx, f.root, p)
		if err != nil {
			t.Fatalf("%s: open %s: %v", stage, p, err)
		}
		var buf bytes.Buffer
		if _, err := file.WriteRange(ctx, &buf, 0, file.Size()); err != nil {
			t.Fatalf("%s: read %s: %v", stage, p, err)
		}
		if !bytes.Equal(buf.Bytes(), data) {
			t.Errorf("%s: %s read back differs", stage, p)
		}
	}
}

// TestManagerPinUnpinRace: pins and unpins of one root racing each other
// never leave a pin the manager lists without the store's pin protecting
// its blocks.
func TestManagerPinUnpinRace(t *testing.T) {
	ctx := testCtx(t)
	f := newFixture(t, testFiles)
	store := memStore(t)
	m := newManager(t, f, store, t.TempDir(), recorderFor(t, f, &recordingOrigin{}))
	startManager(t, m)
	for round := range 20 {
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(2)
			go func() { defer wg.Done(); m.Pin(ctx, f.root, f.url) }()
			go func() { defer wg.Done(); m.Unpin(ctx, f.root) }()
		}
		wg.Wait()
		_, err := m.Status(f.root)
		listed := err == nil
		pins, err := store.Pins(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stored := false
		for _, p := range pins {
			stored = stored || p.Root.Equals(f.root)
		}
		if listed && !stored {
			t.Fatalf("round %d: the manager lists the pin but the store does not protect it", round)
		}
	}
}
