package labels_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/host"
	"github.com/meshcache/meshcache/mesh/labels"
	"github.com/meshcache/meshcache/mesh/policy"
)

type member struct {
	h    *host.Host
	auth *auth.Authenticator
}

// newMember is a QUIC host on 127.0.0.1 that authenticates with ks.
func newMember(t *testing.T, ks auth.Keys) member {
	t.Helper()
	m := meshtest.NewMember(t, ks, 2*time.Second)
	return member{h: m.Host, auth: m.Auth}
}

func book(t *testing.T, m member, l policy.Labels) *labels.Book {
	t.Helper()
	b, err := labels.New(m.h, labels.Config{Local: l, Wrap: m.auth.Wrap, Timeout: 2 * time.Second, Logger: meshtest.Quiet()})
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
	ks := meshtest.Keys(t)
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

	stranger := newMember(t, meshtest.Keys(t))
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
	ks := meshtest.Keys(t)
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
