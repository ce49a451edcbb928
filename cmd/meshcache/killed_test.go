package main

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/mesh/host"
	"github.com/meshcache/meshcache/node"
)

// The killed tests SIGKILL a member that holds a dataset. Unlike a daemon
// that stops (its QUIC connections end with CONNECTION_CLOSE, so peers learn
// at once), a killed process says nothing: its connections look alive to
// its peers until QUIC's idle timeout, and its entries stay in their
// routing tables and its provider records in their stores. A later pin, or
// one under way, must not wait on it for long nor fall back to the origin.

const (
	killedFiles    = 8 // checkSame reads shard-00 … shard-07
	killedFileSize = 6 * mib
	killedDataset  = killedFiles * killedFileSize
	// Pieces of 8 blocks (mid-pin test): a pin from peers runs several
	// batches at once, spread over the holders, so the killed one is
	// serving some.
	killedPieceBlocks = 8
	// killedProgressTimeout (mid-pin test) is also the exchange's idle
	// timeout: a batch asked of the killed holder waits this long before
	// the next holder is asked.
	killedProgressTimeout = 3 * time.Second
)

// killedFlags are the daemon flags of a killed test: the defaults, or
// with fast, small pieces and a short progress timeout.
func killedFlags(fast bool) []string {
	if !fast {
		return nil
	}
	return []string{"--piece-blocks", fmt.Sprint(killedPieceBlocks), "--progress-timeout", killedProgressTimeout.String()}
}

// startKilledRegion starts members of one region, in the zones given (one
// member each), with a cold dataset of killedDataset bytes.
func startKilledRegion(t *testing.T, seed uint64, flags []string, zones ...string) *region {
	t.Helper()
	args := make([][]string, len(zones))
	for i, zone := range zones {
		args[i] = append([]string{"--zone", zone, "--log-level", "debug"}, flags...)
	}
	// The origin is fast enough not to matter; it is here for its counter.
	return startMembers(t, membersSpec{seed: seed, files: killedFiles, fileSize: killedFileSize, rate: 1 << 30, args: args})
}

// pinOne pins the dataset on d and returns its final status and how long
// the pin took, failing the test unless it is pinned whole.
func (r *region) pinOne(t *testing.T, ctx context.Context, name string, d *daemon) (api.PinStatus, time.Duration) {
	t.Helper()
	start := time.Now()
	if _, err := d.client.Pin(ctx, r.root, r.origin.url); err != nil {
		t.Fatalf("%s: pin: %v", name, err)
	}
	st, err := d.client.WaitPin(ctx, r.root, 10*time.Millisecond, nil)
	took := time.Since(start)
	if err != nil || st.State != api.PinPinned || st.BytesDone != killedDataset {
		t.Fatalf("%s: pin %+v, %v\n%s", name, st, err, d.log())
	}
	return st, took
}

// TestKilledHolderLaterPins: A pins from the origin, B from A; D pins with
// both alive, for reference. A is then SIGKILLed and C pins at once, while
// A still looks connected to everyone and its provider and want records
// are everywhere: C completes from B and D with no origin byte, without
// waiting on A for long. C shares A's zone, so A is the holder it asks
// first. The daemons run with the default flags: one piece, fetched as
// three batches one after another, each of which asked A first and waited
// a whole progress timeout on it until a holder gone silent was asked last.
func TestKilledHolderLaterPins(t *testing.T) {
	r := startKilledRegion(t, 11, killedFlags(false), "z1", "z2", "z1", "z2")
	a, b, c, dd := r.members[0], r.members[1], r.members[2], r.members[3]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	r.pinOne(t, ctx, "A", a)
	if n := r.origin.data.Load(); n != killedDataset {
		t.Fatalf("A read %d bytes from the origin, want the dataset's %d", n, killedDataset)
	}
	if st, _ := r.pinOne(t, ctx, "B", b); st.BySource.Origin != 0 {
		t.Fatalf("B: %+v, want everything from A", st.BySource)
	}
	_, alive := r.pinOne(t, ctx, "D", dd)
	if n := r.origin.data.Load(); n != killedDataset {
		t.Fatalf("the origin sent %d more bytes while B and D pinned from peers", n-killedDataset)
	}

	a.kill()
	killed := time.Now()
	st, took := r.pinOne(t, ctx, "C", c)
	t.Logf("pin from peers: %v with every holder alive, %v just after a holder was killed", alive.Round(time.Millisecond), took.Round(time.Millisecond))
	if n := r.origin.data.Load(); n != killedDataset || st.BySource.Origin != 0 {
		t.Errorf("after A was killed, C read %d bytes from the origin (origin counter +%d), want none", st.BySource.Origin, n-killedDataset)
	}
	if st.BySource.Peer != killedDataset {
		t.Errorf("C: %+v, want the whole dataset from peers", st.BySource)
	}
	// Only the first batch asked of A waits for it (one progress
	// timeout); A is asked last from then on. When views and holder
	// lookups still waited on a stopped member, this pin took 33-36 s
	// here; when every batch asked A first, 30 s.
	if limit := alive + node.DefaultProgressTimeout + 4*time.Second; took > limit {
		t.Errorf("C took %v to pin after A was killed, more than %v (D's pin with A alive + one progress timeout + 4 s)", took, limit)
	}
	checkSame(t, ctx, &region{dir: r.dir, root: r.root, members: []*daemon{b, c, dd}})

	// B never fetched from A after the kill: only the transport's idle
	// timeout tells it A is gone (go-libp2p's defaults took 27-42 s).
	limit := host.IdleTimeout + host.KeepAlivePeriod + 5*time.Second
	for {
		ps, err := b.client.Peers(ctx)
		if err == nil && !slices.ContainsFunc(ps, func(p api.PeerInfo) bool { return p.PeerID == r.ids[0] }) {
			t.Logf("B dropped the killed A from its peers %v after the kill", time.Since(killed).Round(time.Second))
			break
		}
		if time.Since(killed) > limit {
			t.Fatalf("B still lists the killed A %v after the kill (%v)", time.Since(killed).Round(time.Second), err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestKilledHolderMidPin: A and B hold the dataset; C pins it and A is
// SIGKILLed while serving C (C shares A's zone, so it asks A first). C
// completes from B, with no origin byte.
func TestKilledHolderMidPin(t *testing.T) {
	r := startKilledRegion(t, 12, killedFlags(true), "z1", "z2", "z1")
	a, b, c := r.members[0], r.members[1], r.members[2]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	r.pinOne(t, ctx, "A", a)
	if st, _ := r.pinOne(t, ctx, "B", b); st.BySource.Origin != 0 {
		t.Fatalf("B: %+v, want everything from A", st.BySource)
	}
	originBefore := r.origin.data.Load()

	start := time.Now()
	if _, err := c.client.Pin(ctx, r.root, r.origin.url); err != nil {
		t.Fatal(err)
	}
	// Kill A once it has sent C some of the dataset (by A's own count),
	// while C is not done.
	var sent int64
	for {
		ps, err := a.client.Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			if p.PeerID == r.ids[2] {
				sent = p.BytesSent
			}
		}
		if sent > 0 {
			break
		}
		if st, err := c.client.PinStatus(ctx, r.root); err != nil || st.Done() {
			t.Fatalf("C's pin ended (%+v, %v) before A sent it anything: nothing to kill mid-pin", st, err)
		}
		if time.Since(start) > 20*time.Second {
			t.Fatal("A sent C nothing in 20 s")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	atKill, err := c.client.PinStatus(ctx, r.root)
	if err != nil {
		t.Fatal(err)
	}
	a.wait(10 * time.Second)
	t.Logf("A killed %v into C's pin, having sent C %.1f MiB; C had %.1f of %.1f MiB",
		time.Since(start).Round(time.Millisecond), mibs(sent), mibs(atKill.BytesDone), mibs(killedDataset))
	if atKill.BytesDone >= killedDataset || atKill.Done() {
		t.Fatalf("C's pin was done (%+v) when A was killed: the kill did not land mid-pin", atKill)
	}

	st, err := c.client.WaitPin(ctx, r.root, 10*time.Millisecond, nil)
	took := time.Since(start)
	if err != nil || st.State != api.PinPinned || st.BytesDone != killedDataset {
		t.Fatalf("C: pin %+v, %v\n%s", st, err, c.log())
	}
	t.Logf("C pinned in %v: %+v", took.Round(time.Millisecond), st.BySource)
	// The batches in flight to A when it died wait one progress timeout,
	// then go to B.
	if limit := 4 * killedProgressTimeout; took > limit {
		t.Errorf("C's pin took %v with A killed mid-pin, more than %v", took, limit)
	}
	if n := r.origin.data.Load() - originBefore; n != 0 || st.BySource.Origin != 0 {
		t.Errorf("C read %d bytes from the origin (counter +%d), want none: B holds everything", st.BySource.Origin, n)
	}
	checkSame(t, ctx, &region{dir: r.dir, root: r.root, members: []*daemon{b, c}})
}
