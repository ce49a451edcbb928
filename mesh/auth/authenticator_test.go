package auth_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	lphost "github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/host"
)

const (
	echoProto = "/meshcache/test-echo/1"
	// timeout is short so the tests that wait for a silent peer stay fast.
	timeout = 1500 * time.Millisecond
)

type node struct {
	*host.Host
	auth *auth.Authenticator
}

func (n *node) id() peer.ID { return n.Host.Host.ID() }

// newNode starts a member with the given keys and a wrapped echo protocol.
func newNode(t *testing.T, keys auth.Keys, listen ...string) *node {
	t.Helper()
	m := meshtest.NewMember(t, keys, timeout, listen...)
	m.Host.SetStreamHandler(echoProto, m.Auth.Wrap(func(s network.Stream) {
		defer s.Close()
		io.Copy(s, s)
	}))
	return &node{Host: m.Host, auth: m.Auth}
}

func loadKeys(t *testing.T, paths ...string) auth.Keys {
	t.Helper()
	ks, err := auth.LoadKeys(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func connect(ctx context.Context, from lphost.Host, to lphost.Host) error {
	return from.Connect(ctx, peer.AddrInfo{ID: to.ID(), Addrs: to.Addrs()})
}

// echo opens the wrapped protocol and reports whether it answered.
func echo(ctx context.Context, from lphost.Host, to peer.ID) error {
	s, err := from.NewStream(ctx, to, echoProto)
	if err != nil {
		return err
	}
	defer s.Close()
	_ = s.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := s.Write([]byte("ping")); err != nil {
		return err
	}
	s.CloseWrite()
	got, err := io.ReadAll(s)
	if err != nil {
		return err
	}
	if string(got) != "ping" {
		return errors.New("echo answered " + string(got))
	}
	return nil
}

func TestMembersAuthenticate(t *testing.T) {
	keys := loadKeys(t, meshtest.WriteKey(t, t.TempDir(), "k"))
	cases := []struct{ name, listen, transport string }{
		{"quic", meshtest.QUICAddr, "quic-v1"},
		{"tcp", meshtest.TCPAddr, "tcp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			a, b := newNode(t, keys, tc.listen), newNode(t, keys, tc.listen)
			if err := connect(ctx, a, b); err != nil {
				t.Fatal(err)
			}
			if !a.auth.WaitAuthenticated(ctx, b.id()) || !b.auth.WaitAuthenticated(ctx, a.id()) {
				t.Fatal("members did not authenticate each other")
			}
			conns := a.Network().ConnsToPeer(b.id())
			if len(conns) == 0 {
				t.Fatal("no connection")
			}
			if got := conns[0].ConnState().Transport; got != tc.transport || !strings.Contains(conns[0].RemoteMultiaddr().String(), tc.transport) {
				t.Fatalf("transport %q over %s, want %s", got, conns[0].RemoteMultiaddr(), tc.transport)
			}
			if err := echo(ctx, a, b.id()); err != nil {
				t.Fatalf("a→b: %v", err)
			}
			if err := echo(ctx, b, a.id()); err != nil {
				t.Fatalf("b→a: %v", err)
			}
		})
	}
}

// TestStrangerRefused: a node with another key never gets a stream
// through, is disconnected, and is then turned away by the gater.
func TestStrangerRefused(t *testing.T) {
	dir := t.TempDir()
	member := newNode(t, loadKeys(t, meshtest.WriteKey(t, dir, "k")))
	strangerDir := t.TempDir()
	sv := auth.NewVerdicts(time.Minute)
	stranger := meshtest.NewHost(t, strangerDir, sv, meshtest.QUICAddr)
	sa, err := auth.New(stranger, auth.Config{Keys: loadKeys(t, meshtest.WriteKey(t, dir, "other")), Verdicts: sv, Timeout: timeout, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sa.Close() })
	ctx := ctxT(t)

	if err := connect(ctx, stranger, member); err != nil {
		t.Fatalf("transport-level connect: %v", err)
	}
	// The stream races the handshake; either way it must not be served.
	if err := echo(ctx, stranger, member.id()); err == nil {
		t.Fatal("stranger's stream to a wrapped protocol was served")
	}
	if member.auth.WaitAuthenticated(ctx, stranger.ID()) {
		t.Fatal("stranger authenticated")
	}
	meshtest.Eventually(t, "member refuses stranger", func() bool { return member.auth.Verdicts().Refused(stranger.ID()) })
	meshtest.Eventually(t, "stranger disconnected", func() bool {
		return member.Network().Connectedness(stranger.ID()) != network.Connected
	})

	// The member's gater refuses to dial the stranger...
	if err := connect(ctx, member, stranger); err == nil {
		t.Fatal("member dialed a refused peer")
	}
	// ...and refuses the stranger's identity when it dials in, even from a
	// process that has forgotten its own verdicts and runs no handshake.
	again := meshtest.NewHost(t, strangerDir, nil, meshtest.QUICAddr)
	if again.ID() != stranger.ID() {
		t.Fatal("same data dir, different identity")
	}
	if member.auth.Verdicts().InterceptSecured(network.DirInbound, again.ID(), nil) {
		t.Fatal("gater admits a refused peer")
	}
	start := time.Now()
	if err := connect(ctx, again, member); err == nil {
		// Over QUIC the dialer sees its handshake complete before the
		// listener's gater closes the connection; no stream may pass.
		if err := echo(ctx, again, member.id()); err == nil {
			t.Fatal("refused peer got a stream through after reconnecting")
		}
	}
	meshtest.Eventually(t, "refused peer kept out", func() bool {
		return again.Network().Connectedness(member.id()) != network.Connected
	})
	// Without the gater the peer would linger until the handshake timeout.
	if d := time.Since(start); d >= timeout {
		t.Fatalf("refused peer stayed %v; the gater should turn it away at once", d)
	}
}

// TestSilentPeerReset: a peer that connects and never authenticates has
// its streams reset and is disconnected after the timeout.
func TestSilentPeerReset(t *testing.T) {
	member := newNode(t, loadKeys(t, meshtest.WriteKey(t, t.TempDir(), "k")), meshtest.TCPAddr)
	silent := meshtest.NewHost(t, t.TempDir(), nil, meshtest.TCPAddr)
	ctx := ctxT(t)
	if err := connect(ctx, silent, member); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := echo(ctx, silent, member.id()); err == nil {
		t.Fatal("unauthenticated stream served")
	}
	if time.Since(start) > 4*timeout {
		t.Fatalf("stream held for %v", time.Since(start))
	}
	meshtest.Eventually(t, "silent peer disconnected", func() bool {
		return member.Network().Connectedness(silent.ID()) != network.Connected
	})
	if member.auth.Verdicts().Refused(silent.ID()) {
		t.Fatal("a timeout was cached as a refusal")
	}
}

func TestKeyRotation(t *testing.T) {
	dir := t.TempDir()
	oldK, newK := meshtest.WriteKey(t, dir, "old"), meshtest.WriteKey(t, dir, "new")
	rotating := newNode(t, loadKeys(t, newK, oldK))
	oldOnly := newNode(t, loadKeys(t, oldK))
	newOnly := newNode(t, loadKeys(t, newK))
	ctx := ctxT(t)
	for _, other := range []*node{oldOnly, newOnly} {
		for _, pair := range [][2]*node{{rotating, other}, {other, rotating}} {
			if err := connect(ctx, pair[0], pair[1]); err != nil {
				t.Fatal(err)
			}
			if !pair[0].auth.WaitAuthenticated(ctx, pair[1].id()) || !pair[1].auth.WaitAuthenticated(ctx, pair[0].id()) {
				t.Fatal("rotating node and single-key node did not authenticate")
			}
			if err := echo(ctx, pair[0], pair[1].id()); err != nil {
				t.Fatal(err)
			}
			pair[0].Network().ClosePeer(pair[1].id())
			meshtest.Eventually(t, "disconnect", func() bool {
				return pair[1].Network().Connectedness(pair[0].id()) != network.Connected
			})
		}
	}
	// Old-only and new-only share no key.
	_ = connect(ctx, oldOnly, newOnly)
	if oldOnly.auth.WaitAuthenticated(ctx, newOnly.id()) || newOnly.auth.WaitAuthenticated(ctx, oldOnly.id()) {
		t.Fatal("nodes without a common key authenticated")
	}
}

// recorder keeps what the test's side of a stream wrote.
type recorder struct {
	network.Stream
	out bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.out.Write(p)
	return r.Stream.Write(p)
}

// TestReplayFromAnotherPeer records peer A's handshake with C and replays
// it from B, a third identity: C refuses B.
func TestReplayFromAnotherPeer(t *testing.T) {
	keys := loadKeys(t, meshtest.WriteKey(t, t.TempDir(), "k"))
	c := newNode(t, keys)
	a := meshtest.NewHost(t, t.TempDir(), nil, meshtest.QUICAddr)
	b := meshtest.NewHost(t, t.TempDir(), nil, meshtest.QUICAddr)
	ctx := ctxT(t)

	if err := connect(ctx, a, c); err != nil {
		t.Fatal(err)
	}
	s, err := a.NewStream(ctx, c.id(), auth.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{Stream: s}
	if _, err := auth.Initiate(rec, a.ID(), c.id(), keys); err != nil {
		t.Fatalf("A's honest handshake: %v", err)
	}
	s.Close()
	if !c.auth.WaitAuthenticated(ctx, a.ID()) {
		t.Fatal("C did not admit A")
	}
	recorded := rec.out.Bytes()
	hello, proof := nextFrame(t, recorded)
	proof, rest := nextFrame(t, proof)
	if len(rest) != 0 {
		t.Fatalf("%d stray bytes recorded", len(rest))
	}

	if err := connect(ctx, b, c); err != nil {
		t.Fatal(err)
	}
	rs, err := b.NewStream(ctx, c.id(), auth.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	_ = rs.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := rs.Write(hello); err != nil {
		t.Fatal(err)
	}
	challenge := readOneFrame(t, rs)
	if len(challenge) == 0 {
		t.Fatal("no challenge")
	}
	if _, err := rs.Write(proof); err != nil {
		t.Fatal(err)
	}
	verdict, _ := io.ReadAll(rs)
	if bytes.Equal(verdict, []byte{0, 1, 4}) { // a frame holding msgOK
		t.Fatal("C accepted a replayed transcript")
	}
	meshtest.Eventually(t, "C refuses B", func() bool { return c.auth.Verdicts().Refused(b.ID()) })
	if c.auth.IsAuthenticated(b.ID()) {
		t.Fatal("B authenticated by replay")
	}
	meshtest.Eventually(t, "B disconnected", func() bool { return c.Network().Connectedness(b.ID()) != network.Connected })
	if !c.auth.IsAuthenticated(a.ID()) {
		t.Fatal("A lost its verdict")
	}
}

func nextFrame(t *testing.T, b []byte) (frame, rest []byte) {
	t.Helper()
	if len(b) < 2 {
		t.Fatal("short recording")
	}
	n := 2 + int(binary.BigEndian.Uint16(b))
	return b[:n], b[n:]
}

func readOneFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	buf := make([]byte, binary.BigEndian.Uint16(hdr[:]))
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return buf
}

// TestMalformedOverTheWire: garbage on the auth stream gets the sender
// refused and disconnected; the member keeps serving others.
func TestMalformedOverTheWire(t *testing.T) {
	keys := loadKeys(t, meshtest.WriteKey(t, t.TempDir(), "k"))
	member := newNode(t, keys, meshtest.TCPAddr)
	friend := newNode(t, keys, meshtest.TCPAddr)
	ctx := ctxT(t)
	cases := []struct {
		name string
		send []byte
	}{
		{"oversized", append([]byte{0xff, 0xff}, make([]byte, 4096)...)},
		{"garbage", []byte{0, 5, 9, 9, 9, 9, 9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bad := meshtest.NewHost(t, t.TempDir(), nil, meshtest.TCPAddr)
			if err := connect(ctx, bad, member); err != nil {
				t.Fatal(err)
			}
			s, err := bad.NewStream(ctx, member.id(), auth.ProtocolID)
			if err != nil {
				t.Fatal(err)
			}
			s.Write(tc.send)
			meshtest.Eventually(t, "refusal", func() bool { return member.auth.Verdicts().Refused(bad.ID()) })
			meshtest.Eventually(t, "disconnect", func() bool {
				return member.Network().Connectedness(bad.ID()) != network.Connected
			})
		})
	}
	if err := connect(ctx, friend, member); err != nil {
		t.Fatal(err)
	}
	if err := echo(ctx, friend, member.id()); err != nil {
		t.Fatalf("member stopped serving members: %v", err)
	}
}

// TestCloseStopsWaits: Close does not wait out a pending handshake timeout.
func TestCloseStopsWaits(t *testing.T) {
	v := auth.NewVerdicts(time.Minute)
	h := meshtest.NewHost(t, t.TempDir(), v, meshtest.TCPAddr)
	a, err := auth.New(h, auth.Config{Keys: loadKeys(t, meshtest.WriteKey(t, t.TempDir(), "k")), Verdicts: v, Timeout: time.Minute, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	silent := meshtest.NewHost(t, t.TempDir(), nil, meshtest.TCPAddr)
	if err := connect(ctxT(t), silent, h); err != nil {
		t.Fatal(err)
	}
	meshtest.Eventually(t, "inbound connection", func() bool { return h.Network().Connectedness(silent.ID()) == network.Connected })
	start := time.Now()
	a.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
}
