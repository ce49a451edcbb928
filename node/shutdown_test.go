package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
)

// shards is a dataset of twelve 2 MiB files: each file is one ranged read.
func shards() []fixtureFile {
	var out []fixtureFile
	for i := range 12 {
		out = append(out, fixtureFile{fmt.Sprintf("shards/part-%02d.bin", i), 2 * mib})
	}
	return out
}

// TestShutdownDuringPinThenResume stops a daemon (as SIGTERM does: Run's
// context ends) while a pin waits on the origin: Run returns cleanly and
// soon, and a daemon restarted on the same data directory resumes the pin
// to completion without fetching again what was already stored.
func TestShutdownDuringPinThenResume(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	files := shards()
	dir, root := publishFiles(t, files)
	const passed = 3 // data GETs let through before the origin stalls
	g := newGate(passed)
	srv := startFaultServer(t, dir, g.middleware)
	t.Cleanup(g.open) // before the server closes
	d := startDaemon(t, Config{AllowOrigins: []string{srv.url}})

	if _, err := d.c.Pin(ctx, root, srv.url); err != nil {
		t.Fatal(err)
	}
	var st api.PinStatus
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var err error
		if st, err = d.c.PinStatus(ctx, root); err != nil {
			t.Fatal(err)
		}
		if st.BlocksDone == 2*passed && g.held.Load() > 0 {
			break
		}
		if st.Done() || time.Now().After(deadline) {
			t.Fatalf("pin never stalled at %d blocks with requests held: %+v, %d held", 2*passed, st, g.held.Load())
		}
	}
	if st.State != api.PinPinning {
		t.Fatalf("pin state %s while its origin stalls, want pinning", st.State)
	}

	start := time.Now()
	if err := d.stop(); err != nil {
		t.Fatalf("shutdown during a pin: %v", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown during a pin took %v", took)
	}

	g.open()
	d = d.restart(nil)
	st, err := d.c.WaitPin(ctx, root, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("resumed pin: %v", err)
	}
	if st.BytesDone != sizeOf(files) || st.BySource.Local != 2*passed*mib || st.BySource.Origin != sizeOf(files)-2*passed*mib {
		t.Errorf("resumed pin: %+v; want the %d bytes stored before shutdown counted local and the rest from the origin", st, 2*passed*mib)
	}
	checkAllFiles(ctx, t, d.c, root, dir, files)
}
