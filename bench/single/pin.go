package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// benchPin pins the publish dataset into a fresh daemon from a loopback
// nginx serving the origin folder (the daemon learns the dataset from the
// CAR file publish wrote there), against one curl fetching every file of
// the dataset from the same nginx over one connection.
func (b *bench) benchPin() {
	b.ensurePubDataset()
	b.ensureCAR()
	ng, err := startNginx(b.cfg.nginx, filepath.Join(b.cfg.work, "nginx"), b.pubDir)
	must(err, "nginx")
	defer ng.Stop()
	urls, rels := b.datasetURLs(ng.URL())
	var p, durable pair
	var hwm []float64
	var ngPin, ngCurl []float64
	for i := range b.cfg.runs {
		d, err := startDaemon(b.ctx, b.cfg.meshcache, b.daemonDir(fmt.Sprintf("pin-%d", i)), ng.URL())
		must(err, "start daemon")
		b.warmSettle(b.pubDir)
		n0 := ng.cpu()
		m, err := d.pin(b.ctx, b.pubRoot, ng.URL(), true)
		must(err, "pin")
		ngPin = append(ngPin, (ng.cpu() - n0).Seconds())
		hwm = append(hwm, float64(d.hwm()))
		d.remove()
		b.warmSettle(b.pubDir)
		n0 = ng.cpu()
		c, err := curlList(b.ctx, b.cfg.work, urls, nil, b.pubSize)
		must(err, "curl the dataset")
		ngCurl = append(ngCurl, (ng.cpu() - n0).Seconds())
		cd := b.curlToDisk(i, urls, rels)
		p.add(m, c)
		durable.add(m, cd)
		logf("pin round %d: meshcache %s (%s), curl %s (%s), curl to files + sync %s (%s)",
			i+1, secs(m.Wall), gbps(m.rate()), secs(c.Wall), gbps(c.rate()), secs(cd.Wall), gbps(cd.rate()))
	}
	b.printf("### Pin from a loopback nginx vs curl\n\n")
	b.printf("The publish dataset (%s, %d files) served by nginx on 127.0.0.1; a fresh daemon pins it (`POST /v1/pins` with the nginx URL as origin; blocks verified and written durably); the baselines are one `curl -K list` fetching every file over one connection, to /dev/null, and to files followed by one `sync` (timed together). Page cache warm before each.\n\n",
		mib(b.pubSize), b.cfg.mixed.Small+1)
	b.printf("| side | wall (median) | throughput | client/daemon CPU s | nginx CPU s |\n|---|---|---|---|---|\n")
	b.printf("| meshcache pin | %s | %s | %.2f (%s cores) | %.2f |\n", secs(medianWall(p.A)), gbps(medianRate(p.A)),
		medianCPU(p.A).Seconds(), cpuShare(medianCPU(p.A), medianWall(p.A)), median(ngPin))
	b.printf("| curl to /dev/null | %s | %s | %.2f | %.2f |\n", secs(medianWall(p.B)), gbps(medianRate(p.B)), medianClientCPU(p.B).Seconds(), median(ngCurl))
	b.printf("| curl to files, then one `sync` | %s | %s | %.2f | |\n", secs(medianWall(durable.B)), gbps(medianRate(durable.B)), medianClientCPU(durable.B).Seconds())
	b.printf("\nRatio pin / curl to /dev/null: **%.2f**; pin / curl to files + sync: **%.2f**. Daemon peak RSS during the pin (VmHWM, median): %s.\n\n",
		p.ratio(), durable.ratio(), mib(int64(median(hwm))))
}

// curlToDisk fetches the dataset with curl into a fresh folder and makes it
// durable with one sync(2), timed together: what copying the bytes to disk
// costs without per-file durability or verification.
func (b *bench) curlToDisk(i int, urls, rels []string) run {
	dest := filepath.Join(b.cfg.work, fmt.Sprintf("curl-%d", i))
	outs := make([]string, len(rels))
	for j, r := range rels {
		outs[j] = filepath.Join(dest, r)
	}
	b.warmSettle(b.pubDir)
	t0 := time.Now()
	r, err := curlList(b.ctx, b.cfg.work, urls, outs, b.pubSize)
	must(err, "curl the dataset to files")
	settle()
	r.Wall = time.Since(t0)
	must(os.RemoveAll(dest), "remove curl copy")
	return r
}

// ensureCAR publishes the dataset once (untimed) unless the CAR file of
// the last publish is in place.
func (b *bench) ensureCAR() {
	if b.pubRoot != "" {
		if _, err := os.Stat(filepath.Join(b.pubDir, ".meshcache", b.pubRoot+".car")); err == nil {
			return
		}
	}
	b.meshPublish(-1)
}

// datasetURLs lists the URL of every dataset file under base, and its
// relative path.
func (b *bench) datasetURLs(base string) (urls, rels []string) {
	err := filepath.WalkDir(b.pubDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".meshcache" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(b.pubDir, p)
			urls = append(urls, strings.TrimSuffix(base, "/")+"/"+filepath.ToSlash(rel))
			rels = append(rels, rel)
		}
		return nil
	})
	must(err, "list dataset")
	return urls, rels
}
