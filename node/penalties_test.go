package node

import (
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meshcache/meshcache/mesh/exchange"
)

// TestPenalties: wrong bytes and broken frames earn a long penalty, a
// silence a short mark that a ping's answer lifts; neither a timeout nor a
// forgiveness shortens a penalty for wrong bytes; penalised peers go last.
func TestPenalties(t *testing.T) {
	a, b, c := peer.ID("a"), peer.ID("b"), peer.ID("c")
	bad := &exchange.PeerError{Peer: a, Err: exchange.ErrBadBlock}
	for _, tc := range []struct {
		name string
		do   func(pn *penalties)
		want string // order of last(a, b, c)
	}{
		{"none", func(*penalties) {}, "[a b c]"},
		{"bad block", func(pn *penalties) { pn.judge(a, bad) }, "[b c a]"},
		{"timeout is no penalty", func(pn *penalties) { pn.judge(a, &exchange.PeerError{Peer: a, Err: exchange.ErrTimeout}) }, "[a b c]"},
		{"silent", func(pn *penalties) { pn.silent(b) }, "[a c b]"},
		{"silent then forgiven", func(pn *penalties) { pn.silent(b); pn.forgive(b) }, "[a b c]"},
		{"bad block outlives silence and forgiveness", func(pn *penalties) { pn.judge(a, bad); pn.silent(a); pn.forgive(a) }, "[b c a]"},
		{"protocol", func(pn *penalties) {
			pn.judge(a, fmt.Errorf("batch: %w", &exchange.PeerError{Peer: a, Err: exchange.ErrProtocol}))
		}, "[b c a]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pn penalties
			tc.do(&pn)
			var order []string
			for _, p := range pn.last([]peer.ID{a, b, c}) {
				order = append(order, string(p))
			}
			if got := fmt.Sprint(order); got != tc.want {
				t.Fatalf("order %s, want %s", got, tc.want)
			}
		})
	}
}
