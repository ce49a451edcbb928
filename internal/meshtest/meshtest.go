// Package meshtest starts real libp2p peers on 127.0.0.1 for the mesh
// packages' tests: bare hosts, cluster keys written to files the way an
// operator's are, and members (a host whose authenticator holds a key).
// Everything it starts is closed by tb.Cleanup and every failure is fatal.
//
// It lives apart from internal/testenv so that the packages testing with
// external servers do not pull in libp2p, and it imports only mesh/auth and
// mesh/host, whose own tests are external (package *_test) and so may import
// it without a cycle.
package meshtest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshcache/meshcache/mesh/auth"
	"github.com/meshcache/meshcache/mesh/host"
)

// Loopback listen addresses with an OS-chosen port.
const (
	QUICAddr = "/ip4/127.0.0.1/udp/0/quic-v1"
	TCPAddr  = "/ip4/127.0.0.1/tcp/0"
)

// verdictTTL outlives any test, so a refusal is never forgotten mid-test.
const verdictTTL = time.Minute

// Quiet is a logger that drops everything: the tests assert on behaviour,
// and libp2p chatter would bury a failure's own output.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// WriteKey generates a cluster key into the file dir/name and returns its
// path.
func WriteKey(tb testing.TB, dir, name string) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := auth.GenerateKey(&buf); err != nil {
		tb.Fatalf("generate cluster key: %v", err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		tb.Fatalf("write cluster key: %v", err)
	}
	return p
}

// Keys is a fresh cluster key, loaded from a file as the daemon loads it.
func Keys(tb testing.TB) auth.Keys {
	tb.Helper()
	ks, err := auth.LoadKeys(WriteKey(tb, tb.TempDir(), "cluster.key"))
	if err != nil {
		tb.Fatalf("load cluster key: %v", err)
	}
	return ks
}

// NewHost starts a host whose identity lives in dir (reusing dir keeps the
// peer ID) and that listens on listen. A nil gater admits everyone.
func NewHost(tb testing.TB, dir string, gater *auth.Verdicts, listen ...string) *host.Host {
	tb.Helper()
	cfg := host.Config{DataDir: dir, Listen: listen, Logger: Quiet()}
	if gater != nil { // a nil *Verdicts in the interface would not be nil
		cfg.Gater = gater
	}
	h, err := host.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("host.New: %v", err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// Member is a host with an authenticator holding the cluster key.
type Member struct {
	Host *host.Host
	Auth *auth.Authenticator
}

// NewMember starts a member with keys, listening on listen (QUIC when none
// is given); its authenticator gives up on a silent peer after timeout.
func NewMember(tb testing.TB, keys auth.Keys, timeout time.Duration, listen ...string) Member {
	tb.Helper()
	if len(listen) == 0 {
		listen = []string{QUICAddr}
	}
	v := auth.NewVerdicts(verdictTTL)
	h := NewHost(tb, tb.TempDir(), v, listen...)
	a, err := auth.New(h, auth.Config{Keys: keys, Verdicts: v, Timeout: timeout, Logger: Quiet()})
	if err != nil {
		tb.Fatalf("auth.New: %v", err)
	}
	tb.Cleanup(func() { a.Close() })
	return Member{Host: h, Auth: a}
}

// Eventually polls cond for up to five seconds and fails the test, naming
// what it waited for, if cond never holds.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
