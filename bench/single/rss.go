package main

import (
	"fmt"
	"path/filepath"
)

// benchRSS measures the daemon's peak resident memory (VmHWM) while it
// publishes and while it pins datasets of each configured size. The
// datasets are sparse files whose every 1 MiB block starts with 4 KiB of
// random bytes: every block is distinct, so the store keeps all of them,
// but the origin folder costs almost no disk. Memory should stay flat as
// the dataset grows: nothing may be held per block in memory.
func (b *bench) benchRSS() {
	root := filepath.Join(b.cfg.work, "rss")
	ng, err := startNginx(b.cfg.nginx, filepath.Join(b.cfg.work, "nginx-rss"), root)
	must(err, "nginx")
	defer ng.Stop()
	b.printf("### Peak RSS\n\n")
	b.printf("Sparse datasets (files of 512 MiB, each 1 MiB block distinct); a fresh daemon publishes each from file:// (blocks stored), then another fresh daemon pins it from nginx on loopback. VmHWM read from /proc/PID/status just before the daemon stops; RSS at idle is VmRSS after start.\n\n")
	b.printf("| dataset | idle RSS | peak RSS, publish | peak RSS, pin | pin throughput |\n|---|---|---|---|---|\n")
	for _, size := range b.cfg.rssSizes {
		name := fmt.Sprintf("sparse-%dMiB", size>>20)
		dir := filepath.Join(root, name)
		must(genSparse(dir, size, 512<<20, uint64(size)), "generate sparse dataset")

		p, err := startDaemon(b.ctx, b.cfg.meshcache, b.daemonDir("rss-pub-"+name), "file://"+root)
		must(err, "start daemon")
		cid, pub, err := p.publish(b.ctx, "file://"+dir, size)
		must(err, "publish sparse dataset")
		pubHWM := p.hwm()
		p.remove()

		q, err := startDaemon(b.ctx, b.cfg.meshcache, b.daemonDir("rss-pin-"+name), ng.URL())
		must(err, "start daemon")
		idle, err := procRSS(q.pid())
		must(err, "idle RSS")
		settle()
		pin, err := q.pin(b.ctx, cid, ng.URL()+name+"/", true)
		must(err, "pin sparse dataset")
		pinHWM := q.hwm()
		q.remove()
		logf("rss %s: idle %s, publish peak %s (%s), pin peak %s (%s)", mib(size), mib(idle), mib(pubHWM), gbps(pub.rate()), mib(pinHWM), gbps(pin.rate()))
		b.printf("| %s | %s | %s | %s | %s |\n", mib(size), mib(idle), mib(pubHWM), mib(pinHWM), gbps(pin.rate()))
	}
	b.printf("\n")
}
