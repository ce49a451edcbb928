package labels_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/host"
	"github.com/meshcache/meshcache/mesh/labels"
	"github.com/meshcache/meshcache/mesh/policy"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type member struct {
	h    *host.Host
	auth *auth.Authenticator
}

func keys(t *testing.T) auth.Keys {
	t.Helper()
	var buf bytes.Buffer
	if err := auth.GenerateKey(&buf); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "cluster.key")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := auth.LoadKeys(p)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// newMember is a QUIC host on 127.0.0.1 that authenticates with ks.
func newMember(t *testing.T, ks auth.Keys) member {
	t.Helper()
	v := auth.NewVerdicts(time.Minute)
	h, err := host.New(context.Background(), host.Config{DataDir: t.TempDir(), Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, Gater: v, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	a, err := auth.New(h, auth.Config{Keys: ks, Verdicts: v, Timeout: 2 * time.Second, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return member{h: h, auth: a}
}

func book(t *testing.T, m member, l policy.Labels) *labels.Book {
	t.Helper()
	b, err := labels.New(m.h, labels.Config{Local: l, Wrap: m.auth.Wrap, Timeout: 2 * time.Second, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func connect(t *testing.T, a, b member) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.h.Connect(ctx, peer.AddrInfo{ID: b.h.ID(), Addrs: b.h.Addrs()}); err != nil {
		t.Fatal(err)
	}
	a.auth.WaitAuthenticated(ctx, b.h.ID())
	b.auth.WaitAuthenticated(ctx, a.h.ID())
}

// TestMembersLearnLabels: a member asked answers its labels; Get learns
// them in the background; a peer without the cluster key is refused.
func TestMembersLearnLabels(t *testing.T) {
	ks := keys(t)
	a, b := newMember(t, ks), newMember(t, ks)
	la := book(t, a, policy.Labels{Region: "eu", Zone: "eu-1", Rack: "r7"})
	lb := book(t, b, policy.Labels{Region: "us"})
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := lb.Ask(ctx, a.h.ID())
	if err != nil || got != (policy.Labels{Region: "eu", Zone: "eu-1", Rack: "r7"}) {
		t.Fatalf("Ask = %+v, %v", got, err)
	}
	if _, ok := la.Get(b.h.ID()); ok {
		t.Fatal("labels known before anyone asked")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, ok := la.Get(b.h.ID()); ok {
			if l.Region != "us" {
				t.Fatalf("learned %+v", l)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Get never learned the labels")
		}
		time.Sleep(20 * time.Millisecond)
	}

	stranger := newMember(t, keys(t))
	ls := book(t, stranger, policy.Labels{Region: "eu"})
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	_ = stranger.h.Connect(sctx, peer.AddrInfo{ID: a.h.ID(), Addrs: a.h.Addrs()})
	if l, err := ls.Ask(sctx, a.h.ID()); err == nil {
		t.Fatalf("a stranger learned %+v", l)
	}
}

// TestBadAnswers: answers that are too long, not JSON or not valid labels
// are refused with ErrBadLabels and not remembered.
func TestBadAnswers(t *testing.T) {
	ks := keys(t)
	a, liar := newMember(t, ks), newMember(t, ks)
	la := book(t, a, policy.Labels{Region: "eu"})
	connect(t, a, liar)
	for _, tc := range []struct{ name, answer string }{
		{"oversized", `{"region":"` + strings.Repeat("x", labels.MaxSize) + `"}`},
		{"not JSON", "region=eu"},
		{"label too long", `{"region":"` + strings.Repeat("x", labels.MaxLabelLen+1) + `"}`},
		{"invalid UTF-8", "{\"region\":\"\xff\"}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			liar.h.SetStreamHandler(labels.ProtocolID, func(st network.Stream) {
				_, _ = st.Write([]byte(tc.answer))
				_ = st.Close()
			})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if l, err := la.Ask(ctx, liar.h.ID()); !errors.Is(err, labels.ErrBadLabels) {
				t.Fatalf("Ask = %+v, %v; want ErrBadLabels", l, err)
			}
			if _, ok := la.Get(liar.h.ID()); ok {
				t.Fatal("bad labels remembered")
			}
		})
	}
	if _, err := labels.New(a.h, labels.Config{Local: policy.Labels{Region: "\xff"}}); !errors.Is(err, labels.ErrBadLabels) {
		t.Fatalf("New with bad local labels: %v", err)
	}
}
