package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// ServerConfig configures a Server.
type ServerConfig struct {
	// Handler serves the requests, normally a *Handler.
	Handler http.Handler
	Logger  *slog.Logger
	// ReadHeaderTimeout bounds how long a client may take to send its
	// request headers (default 10 s).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long (default 2 min).
	IdleTimeout time.Duration
	// ShutdownTimeout is how long Serve waits for requests in flight when
	// its context ends before cutting them off (default 10 s).
	ShutdownTimeout time.Duration
	// MaxHeaderBytes limits request headers (default 64 KiB).
	MaxHeaderBytes int
}

func (c *ServerConfig) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ReadHeaderTimeout == 0 {
		c.ReadHeaderTimeout = 10 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 2 * time.Minute
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = 64 << 10
	}
}

// Validate says which field is wrong.
func (c ServerConfig) Validate() error {
	switch {
	case c.Handler == nil:
		return errors.New("api server: Handler is nil")
	case c.ReadHeaderTimeout < 0, c.IdleTimeout < 0, c.ShutdownTimeout < 0:
		return errors.New("api server: timeouts must not be negative")
	case c.MaxHeaderBytes < 0:
		return errors.New("api server: MaxHeaderBytes must not be negative")
	}
	return nil
}

// Server serves the API on unix-socket listeners: it records each
// connection's peer credentials (for the admin checks) and lets file bytes
// leave through sendfile(2).
type Server struct {
	cfg      ServerConfig
	log      *slog.Logger
	sent     atomic.Int64
	procOnce sync.Once
}

// NewServer checks cfg and applies its defaults.
func NewServer(cfg ServerConfig) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Server{cfg: cfg, log: cfg.Logger}, nil
}

// SendfileBytes is how many response bytes went out through sendfile(2).
func (s *Server) SendfileBytes() int64 { return s.sent.Load() }

// Serve accepts connections on ln until ctx ends, then shuts down
// gracefully: it stops accepting, waits up to ShutdownTimeout for requests
// in flight, then closes what remains. It closes ln and returns nil after a
// shutdown, or the error that stopped it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.cfg.Handler,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ConnContext:       s.connContext,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(&sendfileListener{Listener: ln, sent: &s.sent}) }()

	select {
	case err := <-done:
		ln.Close()
		return fmt.Errorf("api server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		s.log.Warn("api requests still running at shutdown; closing their connections", "err", err)
		err = hs.Close()
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// connContext records the peer's credentials once per connection.
func (s *Server) connContext(ctx context.Context, c net.Conn) context.Context {
	sc, ok := c.(*sendfileConn)
	if !ok {
		return ctx
	}
	p := peerCred(sc.UnixConn)
	if p.Err != nil {
		s.log.Warn("cannot read peer credentials; the connection gets no admin rights", "err", p.Err)
	}
	if p.GroupsFrom != groupsFromSockopt && p.Err == nil {
		s.procOnce.Do(func() {
			s.log.Warn("kernel has no SO_PEERGROUPS (Linux < 4.13): reading supplementary groups from /proc/<pid>/status, which can race with the peer's exit")
		})
	}
	return WithPeer(ctx, p)
}

// sendBuffer is the send buffer asked for on every accepted connection. A
// unix stream socket holds at most its sender's buffer in flight, and the
// default (~208 KiB) makes a sender and a reader on different cores wake
// each other about 5,000 times per GiB: curl read a pinned file at 2.2 GB/s
// with the default and 6.6 GB/s with 4 MiB (docs/benchmarks.md). The kernel
// caps it at net.core.wmem_max; memory is used only while data is queued.
const sendBuffer = 4 << 20

// sendfileListener wraps accepted unix connections in sendfileConn.
type sendfileListener struct {
	net.Listener
	sent *atomic.Int64
}

func (l *sendfileListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if uc, ok := c.(*net.UnixConn); ok {
		// A smaller buffer is slower, not wrong: an error is not fatal.
		_ = uc.SetWriteBuffer(sendBuffer)
		return &sendfileConn{UnixConn: uc, sent: l.sent}, nil
	}
	return c, nil
}
