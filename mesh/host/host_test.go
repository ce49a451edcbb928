package host_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/meshcache/meshcache/mesh/host"
)

func TestIdentityPersists(t *testing.T) {
	dir := t.TempDir()
	h1, err := host.New(context.Background(), host.Config{DataDir: dir, Listen: []string{"/ip4/127.0.0.1/tcp/0"}, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	first := h1.Host.ID()
	if err := h1.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, host.IdentityFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("identity mode %v, want 0600", st.Mode().Perm())
	}
	h2 := meshtest.NewHost(t, dir, nil, "/ip4/127.0.0.1/tcp/0")
	if h2.Host.ID() != first {
		t.Fatalf("peer ID changed across restarts: %s then %s", first, h2.Host.ID())
	}
	other := meshtest.NewHost(t, t.TempDir(), nil, "/ip4/127.0.0.1/tcp/0")
	if other.Host.ID() == first {
		t.Fatal("two data dirs share a peer ID")
	}
}

func TestCorruptIdentityFails(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, host.IdentityFile), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := host.New(context.Background(), host.Config{DataDir: dir, Logger: meshtest.Quiet()}); err == nil {
		t.Fatal("host.New accepted a corrupt identity instead of failing")
	}
}

// TestTransports connects two hosts over each transport and checks which
// one carried the connection.
func TestTransports(t *testing.T) {
	cases := []struct {
		name, listen, transport, proto string
	}{
		{"quic", "/ip4/127.0.0.1/udp/0/quic-v1", "quic-v1", "quic-v1"},
		{"tcp", "/ip4/127.0.0.1/tcp/0", "tcp", "tcp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := meshtest.NewHost(t, t.TempDir(), nil, tc.listen)
			b := meshtest.NewHost(t, t.TempDir(), nil, tc.listen)
			b.SetStreamHandler("/test/echo", func(s network.Stream) {
				defer s.Close()
				io.Copy(s, s)
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := a.Connect(ctx, peer.AddrInfo{ID: b.Host.ID(), Addrs: b.Addrs()}); err != nil {
				t.Fatalf("connect: %v", err)
			}
			conns := a.Network().ConnsToPeer(b.Host.ID())
			if len(conns) != 1 {
				t.Fatalf("%d connections, want 1", len(conns))
			}
			c := conns[0]
			if got := c.ConnState().Transport; got != tc.transport {
				t.Errorf("transport %q, want %q", got, tc.transport)
			}
			if !strings.Contains(c.RemoteMultiaddr().String(), tc.proto) {
				t.Errorf("remote addr %s lacks %s", c.RemoteMultiaddr(), tc.proto)
			}
			if tc.name == "tcp" {
				if got := c.ConnState().Security; got != "/noise" {
					t.Errorf("security %q, want /noise", got)
				}
				if got := c.ConnState().StreamMultiplexer; got != "/yamux/1.0.0" {
					t.Errorf("muxer %q, want /yamux/1.0.0", got)
				}
			}
			s, err := a.NewStream(ctx, b.Host.ID(), "/test/echo")
			if err != nil {
				t.Fatalf("stream: %v", err)
			}
			if _, err := s.Write([]byte("ping")); err != nil {
				t.Fatal(err)
			}
			s.CloseWrite()
			got, err := io.ReadAll(s)
			if err != nil || string(got) != "ping" {
				t.Fatalf("echo = %q, %v", got, err)
			}
		})
	}
}

// TestUDPBuffersRaised: as root the QUIC sockets get the 7 MiB quic-go
// wants even though rmem_max is smaller here.
func TestUDPBuffersRaised(t *testing.T) {
	testenv.RequireRoot(t)
	h := meshtest.NewHost(t, t.TempDir(), nil, "/ip4/127.0.0.1/udp/0/quic-v1")
	got, ok := h.UDPReceiveBuffer()
	if !ok {
		t.Fatal("no UDP socket observed")
	}
	if got < 7<<20 {
		t.Fatalf("UDP receive buffer %d KiB, want >= 7168 KiB", got/1024)
	}
}

func TestIDHasFullAddrs(t *testing.T) {
	h := meshtest.NewHost(t, t.TempDir(), nil, "/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/tcp/0")
	id := host.ID(h)
	raw, err := json.Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil || back["id"] != h.Host.ID().String() {
		t.Fatalf("json %s: %v", raw, err)
	}
	if len(id.Addrs) != 2 {
		t.Fatalf("addrs %v, want 2", id.Addrs)
	}
	for _, a := range id.Addrs {
		info, err := peer.AddrInfoFromString(a)
		if err != nil || info.ID != h.Host.ID() {
			t.Errorf("addr %s: %v", a, err)
		}
	}
}

func TestAnnounceReplacesAddrs(t *testing.T) {
	ann := "/ip4/10.1.2.3/udp/4001/quic-v1"
	h, err := host.New(context.Background(), host.Config{DataDir: t.TempDir(), Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, Announce: []string{ann}, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if addrs := h.Addrs(); len(addrs) != 1 || addrs[0].String() != ann {
		t.Fatalf("addrs %v, want [%s]", addrs, ann)
	}
}

func TestNewErrors(t *testing.T) {
	taken := meshtest.NewHost(t, t.TempDir(), nil, "/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1")
	cases := []struct {
		name string
		cfg  host.Config
	}{
		{"no data dir", host.Config{}},
		{"bad listen", host.Config{DataDir: t.TempDir(), Listen: []string{"/ip4/nope"}}},
		{"bad announce", host.Config{DataDir: t.TempDir(), Announce: []string{"nope"}}},
		{"tcp port in use", host.Config{DataDir: t.TempDir(), Listen: []string{addrWith(t, taken, "/tcp/")}}},
		{"udp port in use", host.Config{DataDir: t.TempDir(), Listen: []string{addrWith(t, taken, "/quic-v1")}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Logger = meshtest.Quiet()
			h, err := host.New(context.Background(), tc.cfg)
			if err == nil {
				h.Close()
				t.Fatal("host.New succeeded")
			}
		})
	}
}

func TestDataDirCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	h := meshtest.NewHost(t, dir, nil, "/ip4/127.0.0.1/tcp/0")
	if _, err := os.Stat(filepath.Join(dir, host.IdentityFile)); err != nil {
		t.Fatalf("identity not written under a new data dir: %v", err)
	}
	_ = h
}

func addrWith(t *testing.T, h *host.Host, part string) string {
	t.Helper()
	for _, a := range h.Addrs() {
		if strings.Contains(a.String(), part) {
			return a.String()
		}
	}
	t.Fatalf("no %s address in %v", part, h.Addrs())
	return ""
}
