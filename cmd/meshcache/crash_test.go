package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/meshcache/meshcache/node"
)

// TestCrashDuringPin kills a daemon pinning a dataset from nginx — with
// SIGKILL from outside at several moments, and from inside at chosen disk
// operations — then starts a daemon without the fault on the same data
// directory. The pin must resume by itself (pins are durable) and complete;
// every file must read back as the origin's bytes; no temp file or partial
// block may remain; and across both runs the origin must have been read at
// most once plus what one pin has in flight when it dies.
func TestCrashDuringPin(t *testing.T) {
	fx := getFixture(t)
	tests := []struct {
		name   string
		fault  string  // MESHCACHE_TEST_FAULT of the first daemon
		killAt float64 // else SIGKILL once this fraction of bytes is done (0: as soon as the pin is accepted)
		// leftovers adds what a kill while the index or the pin record
		// was being written leaves (those writes take microseconds here,
		// too short to hit from outside).
		leftovers bool
	}{
		{name: "SIGKILL/early", killAt: 0, leftovers: true},
		{name: "SIGKILL/mid", killAt: 0.5},
		{name: "SIGKILL/late", killAt: 0.85},
		// Well past the dataset's ~30 metadata blocks, which the pin request
		// itself stores, so the kill falls among the leaves.
		{name: "fault/before-rename", fault: "kill:rename:60"},
		{name: "fault/before-write", fault: "kill:write:100"},
		// Pins store in batches, made durable by syncfs (group sync).
		{name: "fault/before-syncfs", fault: "kill:syncfs:9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ng := testenv.StartNginx(t, fx.dir)
			data := filepath.Join(t.TempDir(), "data")
			opts := daemonOpts{data: data, sock: filepath.Join(socketDir(t), "s"), allow: []string{ng.URL()}}
			first := opts
			if tc.fault != "" {
				first.env = []string{node.FaultEnv + "=" + tc.fault}
			}
			d := startDaemon(t, first)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			if _, err := d.client.Pin(ctx, fx.root, ng.URL()); err != nil {
				t.Fatalf("pin: %v\n%s", err, d.log())
			}
			if tc.fault != "" {
				d.wait(60 * time.Second)
				if !d.killedBySIGKILL() {
					t.Fatalf("daemon with %s exited with %v, want killed by SIGKILL:\n%s", tc.fault, d.state, d.log())
				}
				if _, temps := blockFiles(t, data); len(temps) == 0 {
					t.Fatalf("a kill at %s left no temp file: the fault did not hit a block write", tc.fault)
				}
			} else {
				killWhenDone(t, ctx, d, fx, tc.killAt)
			}
			if st := pinRecordState(t, data, fx.root); st == string(api.PinPinned) {
				t.Fatalf("the pin finished before the kill; the test did not interrupt it")
			}
			held, _ := blockFiles(t, data)
			before := readOrigin(ng)
			if tc.leftovers {
				plantLeftovers(t, data, fx)
			}

			d2 := startDaemon(t, opts)
			st, err := d2.client.WaitPin(ctx, fx.root, 20*time.Millisecond, nil)
			if err != nil {
				t.Fatalf("resumed pin: %v\n%s", err, d2.log())
			}
			checkResumed(t, st, fx)
			checkFiles(t, d2.client, fx)
			stats, err := d2.client.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if stats.Store.Corrupt != 0 {
				t.Errorf("store counts %d corrupt blocks after a crash, want 0", stats.Store.Corrupt)
			}
			d2.term(10 * time.Second)
			blocks := checkStore(t, data)

			after := readOrigin(ng)
			t.Logf("held %d of %d blocks at the kill; origin read %.1f MiB before, %.1f MiB in all (dataset %.1f MiB, re-read %.1f MiB, bound %d MiB); CAR %d bytes read %d; %d blocks stored",
				len(held), fx.leaves(), mibs(before.data), mibs(after.data), mibs(fx.size), mibs(after.data-fx.size), inFlightByte/mib, fx.car, after.meta, blocks)
			if after.data < fx.size {
				t.Errorf("nginx sent %d bytes of data, less than the dataset's %d: the log does not count what was read", after.data, fx.size)
			}
			if after.data > fx.size+inFlightByte {
				t.Errorf("origin read %d bytes across the crash, more than the dataset (%d) plus the in-flight window (%d)", after.data, fx.size, inFlightByte)
			}
			if after.meta != fx.car {
				t.Errorf("the CAR file was read for %d bytes, want once (%d)", after.meta, fx.car)
			}
		})
	}
}

// plantLeftovers writes the temp files that atomicfile and the index
// builder leave when the process dies between creating and renaming them.
func plantLeftovers(t *testing.T, data string, fx *fixture) {
	t.Helper()
	for _, p := range []string{
		filepath.Join(data, "index", "."+fx.root.String()+".idx.tmp-123456"),
		filepath.Join(data, "pins", "."+fx.root.String()+".json.tmp-654321"),
	} {
		if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// killWhenDone SIGKILLs d once its pin has done frac of its bytes.
func killWhenDone(t *testing.T, ctx context.Context, d *daemon, fx *fixture, frac float64) {
	t.Helper()
	for frac > 0 {
		st, err := d.client.PinStatus(ctx, fx.root)
		if err != nil {
			t.Fatalf("pin status: %v", err)
		}
		if st.State == api.PinPinned || st.State == api.PinFailed {
			t.Fatalf("pin %s before %.0f%% was seen", st.State, 100*frac)
		}
		if float64(st.BytesDone) >= frac*float64(fx.size) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	d.kill()
}

// checkResumed checks the final status of a pin resumed after a crash.
func checkResumed(t *testing.T, st api.PinStatus, fx *fixture) {
	t.Helper()
	if st.State != api.PinPinned || st.BytesDone != fx.size || st.BytesTotal != fx.size || st.BlocksDone != fx.leaves() {
		t.Fatalf("resumed pin: %+v, want pinned with %d bytes and %d blocks", st, fx.size, fx.leaves())
	}
	if st.BySource.Local+st.BySource.Origin != fx.size {
		t.Errorf("resumed pin: local %d + origin %d bytes, want the dataset's %d", st.BySource.Local, st.BySource.Origin, fx.size)
	}
}

func mibs(n int64) float64 { return float64(n) / mib }
