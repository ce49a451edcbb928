package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
)

// TestMDNSFindsMembers: two daemons with --mdns and no bootstrap address
// find and admit each other, and a third with another cluster key is not
// admitted. mDNS multicasts, so the daemons run in a network namespace of
// the test's own, on its loopback (multicast switched on there): nothing
// reaches the host's interfaces.
func TestMDNSFindsMembers(t *testing.T) {
	testenv.RequireRoot(t)
	ns := fmt.Sprintf("mcmdns%d", os.Getpid()%100000)
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "delete", ns).Run() })
	ip("-n", ns, "link", "set", "lo", "multicast", "on")
	ip("-n", ns, "link", "set", "lo", "up")

	key, other := filepath.Join(t.TempDir(), "a.key"), filepath.Join(t.TempDir(), "b.key")
	mustMC(t, nil, "keygen", key)
	mustMC(t, nil, "keygen", other)
	sockets := socketDir(t)
	start := func(name, key string) *daemon {
		return startDaemon(t, daemonOpts{
			data: filepath.Join(t.TempDir(), "data"), sock: filepath.Join(sockets, name), netns: ns,
			args: []string{"--cluster-key", key, "--mdns", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--region", "lab"},
		})
	}
	a, b, stranger := start("a", key), start("b", key), start("s", other)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	idA, err := a.client.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idB, err := b.client.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idS, err := stranger.client.ID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ps, err := a.client.Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, p := range ps {
			if p.PeerID == idS.PeerID {
				t.Fatalf("a daemon with another cluster key is a peer: %+v", p)
			}
			found = found || (p.PeerID == idB.PeerID && p.Authenticated)
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a never found b by mDNS (peers %+v)\n%s", ps, a.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if ps, err := b.client.Peers(ctx); err != nil || !hasPeerID(ps, idA.PeerID) {
		t.Fatalf("b's peers %+v, %v: want a", ps, err)
	}
}

// hasPeerID reports whether ps lists the authenticated member id.
func hasPeerID(ps []api.PeerInfo, id string) bool {
	for _, p := range ps {
		if p.PeerID == id && p.Authenticated {
			return true
		}
	}
	return false
}
