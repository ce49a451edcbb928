package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/ipfs/go-cid"
)

// BenchmarkRead reads a whole 64 MiB file through the API over the unix
// socket, against Go's own http.FileServer on a unix socket serving the
// same bytes from one file (the design's reference: ≥ 90% of it).
//
//	api/sendfile/pieces   the daemon's shape: 1 MiB files, our Server (sendfile)
//	api/sendfile/onefile  one file, our Server
//	api/copy/pieces       1 MiB files, a plain http.Server (no sendfile)
//	api/memory            bytes in memory, Write per 1 MiB piece
//	fileserver            http.FileServer on a plain http.Server
func BenchmarkRead(b *testing.B) {
	const size = 64 << 20
	data := randBytes(11, size)
	dir := b.TempDir()
	whole := filepath.Join(dir, "whole")
	if err := os.WriteFile(whole, data, 0o644); err != nil {
		b.Fatal(err)
	}
	piecesDir := filepath.Join(dir, "pieces")
	if err := os.Mkdir(piecesDir, 0o755); err != nil {
		b.Fatal(err)
	}
	oneDir := filepath.Join(dir, "one")
	if err := os.Mkdir(oneDir, 0o755); err != nil {
		b.Fatal(err)
	}
	tb := newTestBackend()
	pieces := newTestHandler(b, &fileBackend{testBackend: tb, file: newDiskFile(b, piecesDir, data, 1<<20)})
	one := newTestHandler(b, &fileBackend{testBackend: tb, file: newDiskFile(b, oneDir, data, size)})
	mem := newTestHandler(b, &fileBackend{testBackend: tb, file: &memFile{c: sumCID(cid.Raw, data), data: data, piece: 1 << 20, b: tb}})
	fs := http.FileServer(http.Dir(dir))

	fsTarget := "/v1/fs/" + sumCID(cid.DagProtobuf, nil).String() + "/f"
	cases := []struct {
		name   string
		socket string
		target string
	}{
		{"api/sendfile/pieces", serveOurs(b, pieces), fsTarget},
		{"api/sendfile/onefile", serveOurs(b, one), fsTarget},
		{"api/copy/pieces", servePlain(b, pieces), fsTarget},
		{"api/memory", serveOurs(b, mem), fsTarget},
		{"fileserver", servePlain(b, fs), "/whole"},
	}
	buf := make([]byte, 1<<20)
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			hc := socketClient(tc.socket)
			read := func() {
				resp, err := hc.Get("http://meshcache" + tc.target)
				if err != nil {
					b.Fatal(err)
				}
				var n int64
				for {
					k, err := resp.Body.Read(buf)
					n += int64(k)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				resp.Body.Close()
				if n != size {
					b.Fatalf("read %d bytes, want %d", n, size)
				}
			}
			read() // warm the page cache and the connection
			b.SetBytes(size)
			b.ResetTimer()
			for b.Loop() {
				read()
			}
		})
	}
}

func serveOurs(b *testing.B, h http.Handler) string {
	path, _ := startServer(b, h, ServerConfig{})
	return path
}

// servePlain serves h with a bare http.Server, as Go's file server would be.
func servePlain(b *testing.B, h http.Handler) string {
	path := filepath.Join(b.TempDir(), "plain.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: h, BaseContext: func(net.Listener) context.Context {
		return WithPeer(context.Background(), rootPeer)
	}}
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Close() })
	return path
}
