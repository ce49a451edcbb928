package host

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/p2p/transport/quicreuse"
	"github.com/quic-go/quic-go"
	"golang.org/x/sys/unix"
)

// Flow-control windows. quic-go auto-tunes windows up to these maxima; the
// connection window bounds what one peer can have in flight, so it must
// cover the bandwidth-delay product of a cross-region link (64 MiB is
// ~500 MB/s at 130 ms). go-libp2p's defaults are 10 / 15 MiB.
const (
	StreamReceiveWindow     = 16 << 20
	ConnectionReceiveWindow = 64 << 20
)

// A member that vanishes without closing its connections (killed, cut off,
// power lost) is noticed when its connection has been silent for
// IdleTimeout; live connections send a keepalive every KeepAlivePeriod
// when idle, so only a dead peer stays silent that long. go-libp2p's
// defaults (30 s idle, 15 s keepalive) kept a killed member in the peer
// list, pin views and holder answers for 27–42 s (quic-go starts the idle
// timer at the first packet sent after the last one received, which a
// 15 s keepalive delays). These bound it near 20 s; the fetch path does
// not wait for them (node: a silent holder is asked last and pinged).
const (
	IdleTimeout     = 15 * time.Second
	KeepAlivePeriod = 5 * time.Second
)

// udpBufferSize is what quic-go asks for (it warns below 7 MiB).
const udpBufferSize = 7 << 20

// udpBuffers raises the receive and send buffers of every UDP socket the
// QUIC transport opens and remembers the smallest result, warning once
// when the kernel would not give enough.
type udpBuffers struct {
	log  *slog.Logger
	once sync.Once

	mu       sync.Mutex
	min      int // smallest receive buffer seen, bytes as the kernel reports them
	observed bool
}

func (u *udpBuffers) listen(network string, laddr *net.UDPAddr) (net.PacketConn, error) {
	conn, err := net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	got, err := raiseBuffers(conn)
	if err != nil {
		u.log.Warn("cannot inspect UDP buffers", "err", err)
		return conn, nil
	}
	u.mu.Lock()
	if !u.observed || got < u.min {
		u.min, u.observed = got, true
	}
	u.mu.Unlock()
	if got < udpBufferSize {
		u.once.Do(func() {
			u.log.Warn("UDP receive buffer below what QUIC needs for full speed; "+
				"raise net.core.rmem_max/wmem_max or grant CAP_NET_ADMIN",
				"got_kib", got/1024, "want_kib", udpBufferSize/1024)
		})
	}
	return conn, nil
}

// ReceiveBuffer reports the smallest UDP receive buffer obtained so far.
func (u *udpBuffers) receiveBuffer() (int, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.min, u.observed
}

// raiseBuffers sets SO_RCVBUF/SO_SNDBUF, forcing past rmem_max/wmem_max
// with the *FORCE variants when the process has CAP_NET_ADMIN, and returns
// the receive buffer the kernel actually granted. Linux reports twice the
// requested size (bookkeeping overhead), so the value is halved to compare
// with what was asked. quic-go compares the doubled value, so it is content
// with 3.5 MiB and stays silent under a 4 MiB rmem_max; we warn then.
func raiseBuffers(conn *net.UDPConn) (int, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	var got int
	var sockErr error
	err = raw.Control(func(fd uintptr) {
		for _, opt := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
			if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt[0], udpBufferSize) != nil {
				_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, opt[1], udpBufferSize)
			}
		}
		got, sockErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	if err != nil {
		return 0, err
	}
	if sockErr != nil {
		return 0, fmt.Errorf("getsockopt SO_RCVBUF: %w", sockErr)
	}
	return got / 2, nil
}

// newConnManager replaces go-libp2p's default quicreuse constructor so the
// UDP sockets get raised buffers and connections larger windows. It keeps
// what the default does: inbound QUIC connections are admitted by the
// resource manager and unverified source addresses are checked by it.
//
// Windows: go-libp2p v0.51 has no option for its quic.Config; it clones an
// unexported package default into the ConnManager. The dialing copy is
// reachable through ClientConfig(), which returns the pointer used for
// every dial; the listening copy only through serverConfig (see there).
func newConnManager(buffers *udpBuffers, closers *[]func() error) func(quic.StatelessResetKey, quic.TokenGeneratorKey, network.ResourceManager) (*quicreuse.ConnManager, error) {
	return func(key quic.StatelessResetKey, tokens quic.TokenGeneratorKey, rm network.ResourceManager) (*quicreuse.ConnManager, error) {
		cm, err := quicreuse.NewConnManager(key, tokens,
			quicreuse.OverrideListenUDP(buffers.listen),
			quicreuse.ConnContext(func(ctx context.Context, info *quic.ClientInfo) (context.Context, error) {
				addr, err := quicreuse.ToQuicMultiaddr(info.RemoteAddr, quic.Version1)
				if err != nil {
					addr = nil
				}
				scope, err := rm.OpenConnection(network.DirInbound, false, addr)
				if err != nil {
					return ctx, err
				}
				ctx = network.WithConnManagementScope(ctx, scope)
				context.AfterFunc(ctx, scope.Done)
				return ctx, nil
			}),
			quicreuse.VerifySourceAddress(rm.VerifySourceAddress),
		)
		if err != nil {
			return nil, fmt.Errorf("quic conn manager: %w", err)
		}
		setWindows(cm.ClientConfig())
		if conf, err := serverConfig(cm); err != nil {
			buffers.log.Warn("accepted QUIC connections keep go-libp2p's smaller flow-control windows", "err", err)
		} else {
			setWindows(conf)
		}
		*closers = append(*closers, cm.Close)
		return cm, nil
	}
}

func setWindows(conf *quic.Config) {
	conf.MaxStreamReceiveWindow = StreamReceiveWindow
	conf.MaxConnectionReceiveWindow = ConnectionReceiveWindow
	conf.MaxIdleTimeout = IdleTimeout
	conf.KeepAlivePeriod = KeepAlivePeriod
}
