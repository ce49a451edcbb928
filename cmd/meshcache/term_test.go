package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
)

// TestSIGTERMDuringPin: SIGTERM in the middle of a pin stops the daemon
// cleanly and promptly (status 0), the pin stays recorded as unfinished,
// and the next daemon on the same data directory finishes it without
// reading the origin again beyond what was in flight.
func TestSIGTERMDuringPin(t *testing.T) {
	fx := getFixture(t)
	ng := testenv.StartNginx(t, fx.dir)
	opts := daemonOpts{data: filepath.Join(t.TempDir(), "data"), sock: filepath.Join(socketDir(t), "s"), allow: []string{ng.URL()}}
	d := startDaemon(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := d.client.Pin(ctx, fx.root, ng.URL()); err != nil {
		t.Fatal(err)
	}
	for {
		st, err := d.client.PinStatus(ctx, fx.root)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == api.PinPinned {
			t.Fatal("the pin finished before SIGTERM was sent")
		}
		if st.BytesDone >= fx.size*4/10 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := d.term(5 * time.Second)
	t.Logf("daemon exited %v after SIGTERM", took.Round(time.Millisecond))
	if st := pinRecordState(t, opts.data, fx.root); st == string(api.PinPinned) {
		t.Fatal("the pin finished before the daemon stopped; the test did not interrupt it")
	}
	_, temps := blockFiles(t, opts.data)
	if len(temps) > 0 {
		t.Errorf("a clean stop left temp files: %v", temps)
	}

	d = startDaemon(t, opts)
	st, err := d.client.WaitPin(ctx, fx.root, 20*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("resumed pin: %v\n%s", err, d.log())
	}
	checkResumed(t, st, fx)
	checkFiles(t, d.client, fx)
	d.term(5 * time.Second)
	checkStore(t, opts.data)
	r := readOrigin(ng)
	t.Logf("origin read %.1f MiB for %.1f MiB", mibs(r.data), mibs(fx.size))
	if r.data > fx.size+inFlightByte {
		t.Errorf("origin read %d bytes, more than the dataset (%d) plus the in-flight window (%d)", r.data, fx.size, inFlightByte)
	}
}
