package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"time"
)

// benchRead reads a pinned file through the daemon's socket with curl,
// against Go's http.FileServer on a unix socket serving the same file, also
// read by curl, and `cat` of the file. Before each read its files (the
// daemon's block files, or the plain file) are read once so the page cache
// holds them. Steady state is reads of blocks verified since the daemon
// started; "first read" restarts the daemon before each read, so every
// block is hashed once as it is served.
func (b *bench) benchRead() {
	dir := filepath.Join(b.cfg.work, "read")
	file := filepath.Join(dir, "file.bin")
	rng := rand.New(rand.NewChaCha8(seedBytes(2)))
	must(writeRandom(file, b.cfg.readSize, rng), "generate read file")
	d, err := startDaemon(b.ctx, b.cfg.meshcache, b.daemonDir("readd"), "file://"+dir)
	must(err, "start daemon")
	defer func() { d.remove() }() // d is replaced by restarts
	root, _, err := d.publish(b.ctx, "file://"+dir, b.cfg.readSize)
	must(err, "publish read file")
	_, err = d.pin(b.ctx, root, "", false)
	must(err, "pin read file")
	fsSock, stopFS := serveFiles(dir)
	defer stopFS()
	blocks := filepath.Join(d.dir, "data", "blocks")
	meshURL := "http://meshcache/v1/fs/" + root + "/file.bin"
	fsURL := "http://fileserver/file.bin"

	// One untimed read verifies every block (the first read since start).
	b.warmSettle(blocks)
	_, err = curlGet(b.ctx, d.socket, meshURL, b.cfg.readSize)
	must(err, "first read")

	var steady pair
	var cats []run
	for i := range b.cfg.readRuns {
		m := b.readMesh(d, blocks, meshURL)
		f := b.readFS(fsSock, file, fsURL)
		b.warmSettle(file)
		c, err := catFile(b.ctx, file, b.cfg.readSize)
		must(err, "cat")
		steady.add(m, f)
		cats = append(cats, c)
		logf("read round %d: meshcache %s, fileserver %s, cat %s", i+1, gbps(m.rate()), gbps(f.rate()), gbps(c.rate()))
	}
	var first pair
	for i := range b.cfg.firstReads {
		must(d.stop(), "stop daemon")
		d, err = startDaemon(b.ctx, b.cfg.meshcache, d.dir, "file://"+dir)
		must(err, "restart daemon")
		m := b.readMesh(d, blocks, meshURL)
		f := b.readFS(fsSock, file, fsURL)
		first.add(m, f)
		logf("first read %d: meshcache %s, fileserver %s", i+1, gbps(m.rate()), gbps(f.rate()))
	}
	b.printf("### Sequential read through the socket (curl)\n\n")
	b.printf("One %s file of random bytes, pinned; `curl --unix-socket S http://x/v1/fs/CID/file.bin -o /dev/null` against `curl` of the same file from Go's `http.FileServer` on a unix socket (in the bench process); page cache warm before every read.\n\n", mib(b.cfg.readSize))
	b.printf("| read | throughput (median) | server CPU s | curl CPU s |\n|---|---|---|---|\n")
	b.readRow("meshcache, blocks verified since start", steady.A)
	b.readRow("Go http.FileServer", steady.B)
	b.readRow("meshcache, first read after a restart (verifies every block)", first.A)
	b.readRow("Go http.FileServer (interleaved with the first reads)", first.B)
	b.readRow("`cat file > /dev/null` (cat's CPU)", cats)
	b.printf("\nRatio meshcache / file server: **%.2f** (verified blocks, target ≥ 0.9); **%.2f** on the first read after a start. `cat` / file server: %.2f.\n\n",
		steady.ratio(), first.ratio(), medianRate(cats)/medianRate(steady.B))
}

func (b *bench) readRow(name string, rs []run) {
	b.printf("| %s | %s | %.2f | %.2f |\n", name, gbps(medianRate(rs)), medianCPU(rs).Seconds(), medianClientCPU(rs).Seconds())
}

func (b *bench) readMesh(d *daemon, blocks, url string) run {
	b.warmSettle(blocks)
	cpu0 := d.cpu()
	r, err := curlGet(b.ctx, d.socket, url, b.cfg.readSize)
	must(err, "read through meshcache")
	r.CPU = d.cpu() - cpu0
	return r
}

func (b *bench) readFS(sock, file, url string) run {
	b.warmSettle(file)
	cpu0 := selfCPU()
	r, err := curlGet(b.ctx, sock, url, b.cfg.readSize)
	must(err, "read through the file server")
	r.CPU = selfCPU() - cpu0
	return r
}

// serveFiles serves dir with http.FileServer on a unix socket in dir's
// parent and returns the socket and a stop function.
func serveFiles(dir string) (string, func()) {
	sock := filepath.Join(filepath.Dir(dir), "fileserver.sock")
	ln, err := net.Listen("unix", sock)
	must(err, "listen for the file server")
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return sock, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			logf("file server: %v", err)
		}
	}
}
