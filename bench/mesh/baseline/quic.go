package baseline

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/meshcache/meshcache/mesh/host"
)

const alpn = "meshcache-bench"

// QUIC is the quic-go baseline's client: a connection on loopback with no
// libp2p above it, the same flow-control windows as mesh/host, to a
// QUICServer that writes the held blocks one Write each. The server may run
// in this process (NewQUIC) or in another one (ListenQUIC there, DialQUIC
// here), as two daemons do.
type QUIC struct {
	srv    *QUICServer // nil when the server is another process's
	client *quic.Conn
	blocks int
	size   int
}

// QUICServer answers range requests from the blocks it holds.
type QUICServer struct {
	ln     *quic.Listener
	blocks [][]byte

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// quicConfig matches mesh/host's windows, so that only the layers above
// quic-go differ between this baseline and the exchange.
func quicConfig() *quic.Config {
	return &quic.Config{
		MaxStreamReceiveWindow:     host.StreamReceiveWindow,
		MaxConnectionReceiveWindow: host.ConnectionReceiveWindow,
		MaxIncomingStreams:         1024,
		MaxIdleTimeout:             time.Minute,
	}
}

// QUICConfig configures a QUIC baseline.
type QUICConfig struct {
	// Blocks are what the server holds and answers range requests from.
	Blocks [][]byte
}

// NewQUIC listens on 127.0.0.1 and dials itself.
func NewQUIC(ctx context.Context, cfg QUICConfig) (*QUIC, error) {
	srv, err := ListenQUIC(cfg.Blocks)
	if err != nil {
		return nil, err
	}
	r, err := DialQUIC(ctx, srv.Addr(), len(cfg.Blocks), len(cfg.Blocks[0]))
	if err != nil {
		srv.Close()
		return nil, err
	}
	r.srv = srv
	return r, nil
}

// ListenQUIC serves blocks on 127.0.0.1 until Close.
func ListenQUIC(blocks [][]byte) (*QUICServer, error) {
	if len(blocks) == 0 {
		return nil, errors.New("raw quic: no blocks to serve")
	}
	cert, err := selfSigned()
	if err != nil {
		return nil, err
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{alpn}}, quicConfig())
	if err != nil {
		return nil, fmt.Errorf("raw quic listen: %w", err)
	}
	s := &QUICServer{ln: ln, blocks: blocks}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

// Addr is the server's host:port.
func (s *QUICServer) Addr() string { return s.ln.Addr().String() }

// Close stops the listener and waits for the server's goroutines.
func (s *QUICServer) Close() error {
	s.cancel()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// DialQUIC connects to a QUICServer at addr holding blocks blocks of size
// bytes each.
func DialQUIC(ctx context.Context, addr string, blocks, size int) (*QUIC, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(dctx, addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{alpn}}, quicConfig())
	if err != nil {
		return nil, fmt.Errorf("raw quic dial %s: %w", addr, err)
	}
	return &QUIC{client: conn, blocks: blocks, size: size}, nil
}

// Close ends the connection, and the server when it is this process's.
func (r *QUIC) Close() error {
	_ = r.client.CloseWithError(0, "")
	if r.srv != nil {
		return r.srv.Close()
	}
	return nil
}

func (s *QUICServer) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept(s.ctx)
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer conn.CloseWithError(0, "")
			for {
				st, err := conn.AcceptStream(s.ctx)
				if err != nil {
					return
				}
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					if err := Serve(st, s.blocks); err != nil {
						st.CancelWrite(1)
					}
				}()
			}
		}()
	}
}

// Serve reads a range request (first block, count) and writes those
// blocks, then ends the stream. Shared by the quic-go and libp2p baselines.
func Serve(st io.ReadWriteCloser, blocks [][]byte) error {
	br := bufio.NewReaderSize(st, 64)
	first, err := binary.ReadUvarint(br)
	if err != nil {
		return err
	}
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return err
	}
	if first+n > uint64(len(blocks)) {
		return errors.New("range beyond the held blocks")
	}
	for _, b := range blocks[first : first+n] {
		if _, err := st.Write(b); err != nil {
			return err
		}
	}
	return st.Close()
}

// Fetch asks for blocks [first, first+n) on st and reads them into one
// reused buffer, hashing each with SHA-256 when verify is set, as the
// exchange's client does on arrival.
func Fetch(st io.ReadWriter, first, n, size int, verify bool) error {
	req := binary.AppendUvarint(nil, uint64(first))
	req = binary.AppendUvarint(req, uint64(n))
	if _, err := st.Write(req); err != nil {
		return fmt.Errorf("send range: %w", err)
	}
	if c, ok := st.(interface{ CloseWrite() error }); ok {
		_ = c.CloseWrite()
	}
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(st, buf); err != nil {
			return fmt.Errorf("read block %d: %w", first+i, err)
		}
		if verify {
			sha256.Sum256(buf)
		}
	}
	return nil
}

// Run fetches every block over streams parallel streams of the connection,
// hashing each on arrival when verify is set.
func (r *QUIC) Run(ctx context.Context, streams int, verify bool) error {
	return Split(r.blocks, streams, func(first, n int) error {
		st, err := r.client.OpenStreamSync(ctx)
		if err != nil {
			return fmt.Errorf("open stream: %w", err)
		}
		// quic-go's Close ends the send side only: exactly CloseWrite.
		if err := Fetch(quicStream{st}, first, n, r.size, verify); err != nil {
			st.CancelRead(1)
			return err
		}
		return nil
	})
}

// quicStream gives a quic-go stream the CloseWrite of libp2p's streams.
type quicStream struct{ *quic.Stream }

func (s quicStream) CloseWrite() error { return s.Stream.Close() }

// Split cuts blocks into streams contiguous ranges and runs fetch on
// each at once.
func Split(blocks, streams int, fetch func(first, n int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, streams)
	per := (blocks + streams - 1) / streams
	for i := 0; i < streams; i++ {
		first := i * per
		n := min(per, blocks-first)
		if n <= 0 {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fetch(first, n)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("self-signed certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
