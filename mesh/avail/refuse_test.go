package avail_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/avail"
)

// Frames built by hand, as a hostile peer would.
func frame(typ byte, root cid.Cid, fields ...[]byte) []byte {
	p := []byte{typ}
	p = binary.AppendUvarint(p, uint64(len(root.Bytes())))
	p = append(p, root.Bytes()...)
	for _, f := range fields {
		p = append(p, f...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(p))), p...)
}

func uv(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.AppendUvarint(b, v)
	}
	return b
}

// readRefusal reads frames until a REFUSE and returns its payload.
func readRefusal(t *testing.T, s network.Stream) string {
	t.Helper()
	_ = s.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(s, hdr[:]); err != nil {
			t.Fatalf("stream ended without a REFUSE: %v", err)
		}
		p := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(s, p); err != nil {
			t.Fatal(err)
		}
		if p[0] == 5 {
			return string(p)
		}
	}
}

func TestMalformedRefused(t *testing.T) {
	ctx, keys := ctxT(t), meshtest.Keys(t)
	a := newMember(t, keys, &avail.Config{})
	evil := newMember(t, keys, nil)
	root, other := rootOf(t, "ds"), rootOf(t, "other")
	const n = 1000
	if err := a.svc.Track(root, n, nil); err != nil {
		t.Fatal(err)
	}
	dial(t, ctx, evil, a)
	hello := frame(1, root, uv(n))
	empty := frame(2, root, uv(0, n), []byte{1}, uv(n)) // one run of n absent leaves
	cases := []struct {
		name   string
		frames [][]byte
		want   string
	}{
		{"wrong leaf count", [][]byte{frame(1, root, uv(n-1))}, "has 1000 leaves, peer says 999"},
		{"not tracked", [][]byte{frame(1, other, uv(n))}, "not tracked"},
		{"first frame not hello", [][]byte{frame(3, root, uv(1, 1))}, "want HELLO"},
		{"oversized frame", [][]byte{binary.BigEndian.AppendUint32(nil, avail.MaxFrame+1)}, "frame of 262145 bytes"},
		{"bitmap wrong length", [][]byte{hello, frame(2, root, uv(0, n), []byte{0}, make([]byte, 100))}, "raw bitmap of 100 bytes for 1000 leaves"},
		{"bitmap wrong range", [][]byte{hello, frame(2, root, uv(8, n-8), []byte{1}, uv(n-8))}, "bitmap range [8, 1000)"},
		{"runs past the end", [][]byte{hello, frame(2, root, uv(0, n), []byte{1}, uv(n+1))}, "run of 1001"},
		{"leaf out of range", [][]byte{hello, empty, frame(3, root, uv(2, 5, n-4))}, "leaf 1000"},
		{"wrong root", [][]byte{hello, empty, frame(3, other, uv(1, 1))}, "on the session for"},
		{"garbage type", [][]byte{hello, empty, frame(77, root)}, "message type 77"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := evil.h.NewStream(ctx, a.id(), avail.ProtocolID)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Reset()
			for _, f := range tc.frames {
				if _, err := s.Write(f); err != nil {
					t.Fatal(err)
				}
			}
			if got := readRefusal(t, s); !strings.Contains(got, tc.want) {
				t.Fatalf("refusal %q, want it to say %q", got, tc.want)
			}
			eventually(t, "session dropped", func() bool { return len(a.svc.Peers(root)) == 0 })
		})
	}
	// Still serving: a good peer gets a session.
	b := newMember(t, keys, &avail.Config{})
	if err := b.svc.Track(root, n, nil); err != nil {
		t.Fatal(err)
	}
	dial(t, ctx, b, a)
	if err := b.svc.Connect(ctx, root, a.id()); err != nil {
		t.Fatal(err)
	}
}

// TestMalformedAnswerToConnect: the peer we subscribe to lies about the
// dataset; Connect says so.
func TestMalformedAnswerToConnect(t *testing.T) {
	ctx, keys := ctxT(t), meshtest.Keys(t)
	a := newMember(t, keys, &avail.Config{})
	liar := newMember(t, keys, nil)
	root := rootOf(t, "ds")
	liar.h.SetStreamHandler(avail.ProtocolID, liar.auth.Wrap(func(s network.Stream) {
		defer s.Close()
		_, _ = s.Write(frame(1, root, uv(10)))
		_, _ = io.Copy(io.Discard, s)
	}))
	if err := a.svc.Track(root, 1000, nil); err != nil {
		t.Fatal(err)
	}
	dial(t, ctx, a, liar)
	err := a.svc.Connect(ctx, root, liar.id())
	if !errors.Is(err, avail.ErrMalformed) || !strings.Contains(err.Error(), "10 leaves, not 1000") {
		t.Fatalf("Connect to a liar: %v", err)
	}
}

func TestUnauthenticatedRefused(t *testing.T) {
	ctx := ctxT(t)
	a := newMember(t, meshtest.Keys(t), &avail.Config{})
	stranger := newMember(t, meshtest.Keys(t), nil) // another cluster's key
	ssvc, err := avail.New(stranger.h, avail.Config{Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ssvc.Close() })
	root := rootOf(t, "ds")
	for _, s := range []*avail.Service{a.svc, ssvc} {
		if err := s.Track(root, 100, nil); err != nil {
			t.Fatal(err)
		}
	}
	_ = stranger.h.Connect(ctx, peerInfo(a))
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = ssvc.Connect(cctx, root, a.id())
	if err == nil {
		t.Fatal("a stranger got a session")
	}
	t.Logf("stranger refused: %v", err)
	if got := a.svc.Peers(root); len(got) != 0 {
		t.Fatalf("a has sessions with %v", got)
	}
	// And a member does not subscribe to a stranger (Admit).
	if err := a.svc.Connect(cctx, root, stranger.id()); !errors.Is(err, avail.ErrNotAdmitted) {
		t.Fatalf("Connect to a stranger: %v", err)
	}
}

// TestWrapRefusesStrangerStream: a stranger that never authenticates opens
// the protocol stream at once; Wrap holds it until the authenticator gives
// up and resets it, and no session forms.
func TestWrapRefusesStrangerStream(t *testing.T) {
	ctx := ctxT(t)
	m := meshtest.NewMember(t, meshtest.Keys(t), 300*time.Millisecond)
	h, a := m.Host, m.Auth
	svc, err := avail.New(h, avail.Config{Wrap: a.Wrap, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close() })
	root := rootOf(t, "ds")
	if err := svc.Track(root, 100, nil); err != nil {
		t.Fatal(err)
	}
	// The stranger runs no authenticator at all.
	sh := meshtest.NewHost(t, t.TempDir(), nil, meshtest.QUICAddr)
	ssvc, err := avail.New(sh, avail.Config{Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ssvc.Close() })
	if err := ssvc.Track(root, 100, nil); err != nil {
		t.Fatal(err)
	}
	if err := sh.Connect(ctx, peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	err = ssvc.Connect(ctx, root, h.ID())
	if err == nil {
		t.Fatal("a stranger got a session")
	}
	t.Logf("stranger's stream refused: %v", err)
	if len(svc.Peers(root)) != 0 {
		t.Fatal("session with a stranger")
	}
}
