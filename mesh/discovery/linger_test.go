package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/discovery"
	"github.com/meshcache/meshcache/mesh/host"
)

// udpRelay stands between a member and everyone else: peers know the
// member only by the relay's address. Cut, it drops every packet both ways
// and keeps its sockets open, so the member vanishes as a machine that lost
// power does: no CONNECTION_CLOSE reaches its peers and no ICMP port
// unreachable answers their packets; they learn only by timeouts.
type udpRelay struct {
	ln     *net.UDPConn
	target *net.UDPAddr
	cut    atomic.Bool

	mu   sync.Mutex
	up   map[string]*net.UDPConn // one upstream socket per client address
	done bool
	wg   sync.WaitGroup
}

func newUDPRelay(t *testing.T) *udpRelay {
	t.Helper()
	ln, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &udpRelay{ln: ln, up: map[string]*net.UDPConn{}}
	t.Cleanup(r.close)
	return r
}

func (r *udpRelay) port() int { return r.ln.LocalAddr().(*net.UDPAddr).Port }

// start forwards to target until close.
func (r *udpRelay) start(target *net.UDPAddr) {
	r.target = target
	r.wg.Add(1)
	go r.fromClients()
}

func (r *udpRelay) fromClients() {
	defer r.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, from, err := r.ln.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		if r.cut.Load() {
			continue
		}
		up, err := r.upstream(from)
		if err != nil {
			continue
		}
		_, _ = up.Write(buf[:n])
	}
}

// upstream is from's socket towards the target, made on first use, with a
// goroutine carrying the answers back.
func (r *udpRelay) upstream(from *net.UDPAddr) (*net.UDPConn, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return nil, net.ErrClosed
	}
	if up, ok := r.up[from.String()]; ok {
		return up, nil
	}
	up, err := net.DialUDP("udp4", nil, r.target)
	if err != nil {
		return nil, fmt.Errorf("relay upstream for %s: %w", from, err)
	}
	r.up[from.String()] = up
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil || r.cut.Load() {
				continue
			}
			_, _ = r.ln.WriteToUDP(buf[:n], from)
		}
	}()
	return up, nil
}

func (r *udpRelay) close() {
	r.mu.Lock()
	r.done = true
	for _, up := range r.up {
		up.Close()
	}
	r.mu.Unlock()
	r.ln.Close()
	r.wg.Wait()
}

// newRelayedNode starts a member that announces only the relay's address.
func newRelayedNode(t *testing.T, keys auth.Keys, relay *udpRelay) *node {
	t.Helper()
	v := auth.NewVerdicts(time.Minute)
	h, err := host.New(context.Background(), host.Config{
		DataDir: t.TempDir(), Listen: []string{meshtest.QUICAddr}, Gater: v, Logger: meshtest.Quiet(),
		Announce: []string{fmt.Sprintf("/ip4/127.0.0.1/udp/%d/quic-v1", relay.port())},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	var target *net.UDPAddr
	for _, a := range h.Network().ListenAddresses() {
		if na, err := udpAddr(a); err == nil {
			target = na
		}
	}
	if target == nil {
		t.Fatalf("relayed member listens on %v: no UDP address", h.Network().ListenAddresses())
	}
	relay.start(target)
	a, err := auth.New(h, auth.Config{Keys: keys, Verdicts: v, Timeout: authTimeout, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	d, err := discovery.New(h, discovery.Config{Membership: a, RecordTTL: time.Minute, ReprovideInterval: 20 * time.Second, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return &node{h: h, auth: a, d: d}
}

// udpAddr is the UDP address of a /ip4/…/udp/…/quic-v1 multiaddr.
func udpAddr(a ma.Multiaddr) (*net.UDPAddr, error) {
	ip, err := a.ValueForProtocol(ma.P_IP4)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a, err)
	}
	port, err := a.ValueForProtocol(ma.P_UDP)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a, err)
	}
	return net.ResolveUDPAddr("udp4", net.JoinHostPort(ip, port))
}

// TestLookupLingerPastStalledMember: a member of every routing table
// vanishes without a word (its packets dropped both ways, its sockets
// open). A holder lookup then finds the record at once, but the DHT query
// goes on waiting for the vanished member, up to the lookup timeout. With
// Linger the lookup returns about Linger after the first record; with
// Linger out of the way (an hour) the same lookup waits for the query.
func TestLookupLingerPastStalledMember(t *testing.T) {
	t.Parallel()
	const lookupTimeout = 5 * time.Second
	keys := meshtest.Keys(t)
	relay := newUDPRelay(t)
	gone := newRelayedNode(t, keys, relay)
	boot := gone.addr()
	member := func(linger time.Duration) *node {
		h, a := newHost(t, keys)
		d, err := discovery.New(h, discovery.Config{
			Membership: a, Bootstrap: []string{boot}, RecordTTL: time.Minute, ReprovideInterval: 20 * time.Second,
			LookupTimeout: lookupTimeout, Linger: linger, Logger: meshtest.Quiet(),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return &node{h: h, auth: a, d: d}
	}
	holder := member(0)
	lingering := member(0) // DefaultLinger
	waiting := member(time.Hour)
	ctx := ctxT(t)
	for _, n := range []*node{holder, lingering, waiting} {
		if err := n.d.Bootstrap(ctx); err != nil {
			t.Fatalf("bootstrap: %v", err)
		}
	}
	root := testRoot("lingered")
	if err := holder.d.Provide(ctx, root, "eu"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*node{lingering, waiting} {
		waitHolders(t, n, root, "eu", holder.id())
		meshtest.Eventually(t, "the relayed member in the routing table", func() bool {
			return slices.Contains(n.d.RoutingTable(), gone.id())
		})
	}

	// Gone: nothing more passes the relay. Closing the member itself ends
	// its goroutines; its goodbyes are dropped like everything else.
	relay.cut.Store(true)
	gone.d.Close()
	gone.auth.Close()
	gone.h.Close()

	type result struct {
		found []peer.ID
		took  time.Duration
		err   error
	}
	lookup := func(n *node) result {
		start := time.Now()
		infos, err := n.d.FindHolders(context.Background(), root, "eu", 10)
		return result{ids(infos), time.Since(start), err}
	}
	// Both at once: each is held up by the same vanished member.
	var wg sync.WaitGroup
	var fast, slow result
	wg.Go(func() { fast = lookup(lingering) })
	wg.Go(func() { slow = lookup(waiting) })
	wg.Wait()
	t.Logf("lookup past a vanished member: %v with the default linger (%v), %v without", fast.took.Round(time.Millisecond), discovery.DefaultLinger, slow.took.Round(time.Millisecond))
	want := []peer.ID{holder.id()}
	for name, r := range map[string]result{"with linger": fast, "without linger": slow} {
		if r.err != nil || !slices.Equal(r.found, want) {
			t.Errorf("%s: found %v, %v; want %v", name, r.found, r.err, want)
		}
	}
	// The query is really held up: without linger the lookup ends at its
	// timeout, not when the query has asked everyone.
	if slow.took < lookupTimeout*3/4 {
		t.Errorf("without linger the lookup took %v: the vanished member did not hold the query up (want ≈ %v)", slow.took, lookupTimeout)
	}
	// Linger plus scheduling slack on a loaded machine, far below the stall.
	if fast.took > discovery.DefaultLinger+1500*time.Millisecond {
		t.Errorf("with linger the lookup took %v, want about %v after the first record", fast.took, discovery.DefaultLinger)
	}
}
