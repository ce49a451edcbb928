package host

import (
	"io"
	"log/slog"
	"testing"

	"github.com/quic-go/quic-go"
)

// TestWindows: dialed and accepted QUIC connections use meshcache's windows, not
// go-libp2p's 10 / 15 MiB.
func TestWindows(t *testing.T) {
	rm, err := resourceManager(ResourceLimits{})
	if err != nil {
		t.Fatal(err)
	}
	defer rm.Close()
	var closers []func() error
	cm, err := newConnManager(&udpBuffers{log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &closers)(quic.StatelessResetKey{}, quic.TokenGeneratorKey{}, rm)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	server, err := serverConfig(cm)
	if err != nil {
		t.Fatalf("listen windows unreachable (go-libp2p changed?): %v", err)
	}
	for name, conf := range map[string]*quic.Config{"dial": cm.ClientConfig(), "listen": server} {
		if conf.MaxStreamReceiveWindow != StreamReceiveWindow || conf.MaxConnectionReceiveWindow != ConnectionReceiveWindow {
			t.Errorf("%s windows %d / %d", name, conf.MaxStreamReceiveWindow, conf.MaxConnectionReceiveWindow)
		}
		if conf.MaxIdleTimeout != IdleTimeout || conf.KeepAlivePeriod != KeepAlivePeriod {
			t.Errorf("%s idle timeout %v, keepalive %v; want %v, %v", name, conf.MaxIdleTimeout, conf.KeepAlivePeriod, IdleTimeout, KeepAlivePeriod)
		}
	}
	if len(closers) != 1 {
		t.Fatalf("%d closers registered, want 1", len(closers))
	}
	// The connection scope must admit the full window at medium priority
	// (60% of the limit), or quic-go's auto-tuning stalls below it.
	if got := DefaultResourceLimits().ConnMemory * 6 / 10; got < ConnectionReceiveWindow {
		t.Fatalf("conn memory %d admits only %d of a %d window", DefaultResourceLimits().ConnMemory, got, ConnectionReceiveWindow)
	}
}
