package main

import (
	"crypto/rand"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/bench/mesh/baseline"
)

// benchPinPeer pins the publish dataset into a fresh daemon from one peer
// that holds it (both daemons on 127.0.0.1, QUIC): blocks verified on
// arrival and written durably, as any pin. The baseline, measured in the
// same rounds, is raw quic-go with the mesh's windows moving as many bytes
// in 1 MiB writes over one stream (and the same with SHA-256 of each block
// on arrival): the transport alone, with no verification, index or disk.
func (b *bench) benchPinPeer() {
	b.ensurePubDataset()
	b.ensureCAR()
	ng, err := startNginx(b.cfg.nginx, filepath.Join(b.cfg.work, "nginx"), b.pubDir)
	must(err, "nginx")
	defer ng.Stop()
	key := filepath.Join(b.cfg.work, "cluster.key")
	if out, err := exec.Command(b.cfg.meshcache, "keygen", key).CombinedOutput(); err != nil {
		must(fmt.Errorf("%w: %s", err, out), "keygen")
	}
	mesh := []string{"--cluster-key", key, "--listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--region", "bench"}
	holder, err := startDaemonArgs(b.ctx, b.cfg.meshcache, b.daemonDir("pinpeer-holder"), mesh, ng.URL())
	must(err, "start the holder")
	defer holder.remove()
	_, err = holder.pin(b.ctx, b.pubRoot, ng.URL(), true)
	must(err, "the holder's pin")
	id, err := holder.client.ID(b.ctx)
	must(err, "holder id")
	root, err := cid.Decode(b.pubRoot)
	must(err, "root")

	blocks := make([][]byte, (b.pubSize+(1<<20)-1)>>20)
	for i := range blocks {
		blocks[i] = make([]byte, 1<<20)
		_, _ = rand.Read(blocks[i])
	}
	raw, err := baseline.NewQUIC(b.ctx, baseline.QUICConfig{Blocks: blocks})
	must(err, "raw quic-go")
	defer raw.Close()
	remote, err := startRemoteQUIC(b.ctx, len(blocks))
	must(err, "raw quic-go, two processes")
	defer remote.Close()

	var p, hashed, twoProc, twoProcHashed pair
	for i := range b.cfg.runs {
		args := append(append([]string{}, mesh...), "--bootstrap", id.Addrs[0])
		d, err := startDaemonArgs(b.ctx, b.cfg.meshcache, b.daemonDir(fmt.Sprintf("pinpeer-%d", i)), args, ng.URL())
		must(err, "start the pinning daemon")
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			ps, err := d.client.Peers(b.ctx)
			if err == nil && len(ps) > 0 {
				break
			}
			if time.Now().After(deadline) {
				must(fmt.Errorf("no peer: %v", err), "join the holder")
			}
		}
		h0 := holder.cpu()
		m, err := d.pin(b.ctx, b.pubRoot, ng.URL(), false)
		must(err, "pin from the peer")
		m.ClientCPU = holder.cpu() - h0
		st, err := d.client.PinStatus(b.ctx, root)
		must(err, "pin status")
		if st.BySource.Peer != st.BytesTotal {
			must(fmt.Errorf("pin took %+v, want every byte from the peer", st.BySource), "pin from the peer")
		}
		d.remove()
		n := int64(len(blocks)) << 20
		q, err := timeRunCPU(func() error { return raw.Run(b.ctx, 1, false) }, n, 0)
		must(err, "raw quic-go")
		qh, err := timeRunCPU(func() error { return raw.Run(b.ctx, 1, true) }, n, 0)
		must(err, "raw quic-go + sha256")
		r2, err := timeRunCPU(func() error { return remote.Run(b.ctx, 1, false) }, n, remote.pid())
		must(err, "raw quic-go, two processes")
		r2h, err := timeRunCPU(func() error { return remote.Run(b.ctx, 1, true) }, n, remote.pid())
		must(err, "raw quic-go + sha256, two processes")
		p.add(m, q)
		hashed.add(m, qh)
		twoProc.add(m, r2)
		twoProcHashed.add(m, r2h)
		logf("pinpeer round %d: meshcache %s (%s), raw quic-go %s, + sha256 %s; two processes %s, + sha256 %s",
			i+1, secs(m.Wall), gbps(m.rate()), gbps(q.rate()), gbps(qh.rate()), gbps(r2.rate()), gbps(r2h.rate()))
	}
	b.printf("### Pin from one peer vs raw quic-go\n\n")
	b.printf("The publish dataset (%s) held by one daemon; a fresh daemon on 127.0.0.1 joins it over QUIC and pins it (`POST /v1/pins`: every block from the peer, verified on arrival and written durably, index and pin record included). Baseline in the same rounds: raw quic-go with the mesh's windows moving as many bytes in 1 MiB writes over one stream, without and with SHA-256 of each block on arrival (no disk).\n\n", mib(b.pubSize))
	b.printf("| side | wall (median) | throughput | CPU ms per MiB, both sides (cores) |\n|---|---|---|---|\n")
	row := func(name string, rs []run) {
		cpu := time.Duration(median(mapRuns(rs, func(r run) float64 { return float64(r.CPU + r.ClientCPU) })))
		b.printf("| %s | %s | %s | %.2f (%s) |\n", name, secs(medianWall(rs)), gbps(medianRate(rs)),
			float64(cpu.Milliseconds())/float64(b.pubSize>>20), cpuShare(cpu, medianWall(rs)))
	}
	row("meshcache pin from a peer (pinning daemon + holder)", p.A)
	row("raw quic-go, 1 stream, one process", p.B)
	row("raw quic-go + SHA-256, 1 stream, one process", hashed.B)
	row("raw quic-go, 1 stream, server in another process", twoProc.B)
	row("raw quic-go + SHA-256, 1 stream, server in another process", twoProcHashed.B)
	b.printf("\nRatio pin / raw quic-go: **%.2f**; pin / raw quic-go + SHA-256: **%.2f**; pin / raw quic-go across two processes: **%.2f**; + SHA-256: **%.2f**.\n\n",
		p.ratio(), hashed.ratio(), twoProc.ratio(), twoProcHashed.ratio())
}

// timeRunCPU times f as a run of n bytes, with this process's CPU as
// ClientCPU and, when server is a process ID, that process's as CPU.
func timeRunCPU(f func() error, n int64, server int) (run, error) {
	var s0 time.Duration
	if server > 0 {
		s0, _ = procCPU(server)
	}
	c0, t0 := selfCPU(), time.Now()
	err := f()
	r := run{Wall: time.Since(t0), Bytes: n, ClientCPU: selfCPU() - c0}
	if server > 0 {
		s1, _ := procCPU(server)
		r.CPU = s1 - s0
	}
	return r, err
}
