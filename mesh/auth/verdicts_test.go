package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestVerdicts(ttl time.Duration) (*Verdicts, *fakeClock) {
	clk := &fakeClock{t: time.Unix(1_000_000, 0)}
	v := NewVerdicts(ttl)
	v.now = clk.now
	return v, clk
}

func TestVerdictLifecycle(t *testing.T) {
	v, clk := newTestVerdicts(time.Minute)
	p := peer.ID("peer-a")
	if v.Authenticated(p) || v.Refused(p) || !v.InterceptPeerDial(p) {
		t.Fatal("unknown peer has a verdict")
	}
	e, fresh := v.begin(p)
	if !fresh {
		t.Fatal("first begin not fresh")
	}
	if again, fresh := v.begin(p); fresh || again != e {
		t.Fatal("second begin during a handshake started another")
	}
	v.settle(p, e, statusRefused)
	v.settle(p, e, statusAuthenticated) // a racing second outcome is ignored
	if !v.Refused(p) || v.InterceptSecured(network.DirInbound, p, nil) || v.InterceptAddrDial(p, nil) {
		t.Fatal("refusal not enforced")
	}
	if v.await(context.Background(), p) {
		t.Fatal("refused peer awaited as authenticated")
	}
	clk.t = clk.t.Add(time.Minute)
	if v.Refused(p) || !v.InterceptPeerDial(p) {
		t.Fatal("refusal outlived its TTL")
	}

	e, _ = v.begin(p)
	v.settle(p, e, statusAuthenticated)
	if !v.Authenticated(p) || !v.await(context.Background(), p) {
		t.Fatal("not authenticated")
	}
	v.forget(p)
	if v.Authenticated(p) {
		t.Fatal("authentication survived the last connection")
	}

	e, _ = v.begin(p)
	v.settle(p, e, statusUnknown)
	if v.Authenticated(p) || v.Refused(p) || len(v.peers) != 0 {
		t.Fatal("an inconclusive handshake left a verdict")
	}
}

// TestAwaitPending: a stream arriving mid-handshake waits for the verdict.
func TestAwaitPending(t *testing.T) {
	v, _ := newTestVerdicts(time.Minute)
	p := peer.ID("peer-b")
	e, _ := v.begin(p)
	got := make(chan bool, 1)
	go func() { got <- v.await(context.Background(), p) }()
	time.Sleep(10 * time.Millisecond)
	v.settle(p, e, statusAuthenticated)
	if !<-got {
		t.Fatal("waiter not admitted after the handshake succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	q := peer.ID("peer-c")
	v.begin(q)
	if v.await(ctx, q) {
		t.Fatal("cancelled wait admitted a pending peer")
	}
}

// TestRefusalsBounded: minting peer IDs cannot grow the cache without bound.
func TestRefusalsBounded(t *testing.T) {
	v, clk := newTestVerdicts(time.Hour)
	for i := range 3 * maxRefused {
		p := peer.ID(fmt.Sprintf("stranger-%d", i))
		e, _ := v.begin(p)
		v.settle(p, e, statusRefused)
		clk.t = clk.t.Add(time.Millisecond)
	}
	if n := len(v.peers); n > maxRefused {
		t.Fatalf("%d refusals kept, bound %d", n, maxRefused)
	}
	if v.refusedCount != len(v.peers) {
		t.Fatalf("count %d, map %d", v.refusedCount, len(v.peers))
	}
	// The newest refusals are the ones kept.
	if !v.Refused(peer.ID(fmt.Sprintf("stranger-%d", 3*maxRefused-1))) {
		t.Fatal("latest refusal dropped")
	}
}
