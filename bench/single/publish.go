package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// benchPublish compares a daemon publishing the dataset from file:// (blocks
// written durably) with `ipfs add` of the same folder into a fresh repo,
// both with the test profile as given (flatfs without fsync) and with
// flatfs's sync turned on. Each run starts with the folder in the page cache
// and no dirty pages left by the run before.
func (b *bench) benchPublish() {
	b.ensurePubDataset()
	var fast, durable, floor, floorGrouped pair
	var hwm []float64
	var kuboRoot string
	for i := range b.cfg.runs {
		kt, root := b.kuboAdd(i, false)
		kd, _ := b.kuboAdd(i, true)
		c := b.blockCopy(i, false)
		cg := b.blockCopy(i, true)
		m, mhwm := b.meshPublish(i)
		kuboRoot = root
		fast.add(m, kt)
		durable.add(m, kd)
		floor.add(m, c)
		floorGrouped.add(m, cg)
		hwm = append(hwm, float64(mhwm))
		logf("publish round %d: meshcache %s (%s), kubo test profile %s (%s), kubo sync %s (%s), durable copy fsync each %s (%s), grouped %s (%s)",
			i+1, secs(m.Wall), gbps(m.rate()), secs(kt.Wall), gbps(kt.rate()), secs(kd.Wall), gbps(kd.rate()), secs(c.Wall), gbps(c.rate()), secs(cg.Wall), gbps(cg.rate()))
	}
	same := "the same root CID"
	if kuboRoot != b.pubRoot {
		same = fmt.Sprintf("DIFFERENT root CIDs: Kubo %s, meshcache %s", kuboRoot, b.pubRoot)
		logf("WARNING: %s", same)
	}
	b.printf("### Publish vs `ipfs add`\n\n")
	b.printf("Dataset: %s (%s file + %d files averaging %s in %d folders), page cache warm; %s (%s).\n\n",
		mib(b.pubSize), mib(b.cfg.mixed.Big), b.cfg.mixed.Small, fmt.Sprintf("%d KiB", b.cfg.mixed.SmallAvg>>10),
		(b.cfg.mixed.Small+b.cfg.mixed.SmallPerDir-1)/b.cfg.mixed.SmallPerDir, same, b.pubRoot)
	b.printf("| side | wall (median) | throughput | CPU (cores busy) |\n|---|---|---|---|\n")
	b.row("meshcache daemon, publish from file:// (blocks durable before acknowledged)", fast.A)
	b.row("`ipfs add`, test profile (flatfs sync off)", fast.B)
	b.row("`ipfs add`, flatfs sync on", durable.B)
	b.row("floor: durable copy of the 1 MiB chunks, fsync per file, no hashing (bench process)", floor.B)
	b.row("floor: durable copy of the 1 MiB chunks, O_DIRECT + syncfs per 32 MiB, no hashing (bench process)", floorGrouped.B)
	b.printf("\nRatio meshcache / Kubo (test profile): **%.2f**; / Kubo (sync on): **%.2f**; / fsync-per-file floor: **%.2f**; / grouped floor: **%.2f**. Daemon peak RSS during publish (VmHWM, median): %s.\n\n",
		fast.ratio(), durable.ratio(), floor.ratio(), floorGrouped.ratio(), mib(int64(median(hwm))))
}

// blockCopy measures durableCopy of the dataset into a fresh folder.
func (b *bench) blockCopy(i int, grouped bool) run {
	dest := filepath.Join(b.cfg.work, fmt.Sprintf("copy-%d-%v", i, grouped))
	b.warmSettle(b.pubDir)
	cpu0 := selfCPU()
	r, err := durableCopy(b.pubDir, dest, grouped)
	must(err, "durable copy")
	r.CPU = selfCPU() - cpu0
	must(os.RemoveAll(dest), "remove copy")
	return r
}

// row prints one side's medians.
func (b *bench) row(name string, rs []run) {
	w, c := medianWall(rs), medianCPU(rs)
	b.printf("| %s | %s | %s | %s s (%s) |\n", name, secs(w), gbps(medianRate(rs)), fmt.Sprintf("%.2f", c.Seconds()), cpuShare(c, w))
}

// kuboAdd adds the dataset into a fresh repo and returns the run and root.
func (b *bench) kuboAdd(i int, durable bool) (run, string) {
	// A CAR file left by a meshcache publish would be added too (--hidden).
	must(os.RemoveAll(filepath.Join(b.pubDir, ".meshcache")), "remove .meshcache")
	repo := filepath.Join(b.cfg.work, fmt.Sprintf("kubo-%d-%v", i, durable))
	r, err := newKuboRepo(b.ctx, b.cfg.ipfs, repo, durable)
	must(err, "ipfs init")
	defer func() { must(os.RemoveAll(repo), "remove kubo repo") }()
	b.warmSettle(b.pubDir)
	root, res, err := r.add(b.ctx, b.pubDir, b.pubSize)
	must(err, "ipfs add")
	return res, root
}

// meshPublish publishes the dataset through a fresh daemon and returns the
// run and the daemon's peak RSS.
func (b *bench) meshPublish(i int) (run, int64) {
	d, err := startDaemon(b.ctx, b.cfg.meshcache, b.daemonDir(fmt.Sprintf("pub-%d", i)), "file://"+b.pubDir)
	must(err, "start daemon")
	defer d.remove()
	b.warmSettle(b.pubDir)
	root, res, err := d.publish(b.ctx, "file://"+b.pubDir, b.pubSize)
	must(err, "publish")
	if b.pubRoot != "" && root != b.pubRoot {
		fatalf("publish gave root %s, earlier %s", root, b.pubRoot)
	}
	b.pubRoot = root
	return res, d.hwm()
}

// warmSettle puts paths in the page cache and writes back dirty pages.
func (b *bench) warmSettle(paths ...string) {
	t0 := time.Now()
	_, err := warm(paths...)
	must(err, "warm")
	settle()
	if d := time.Since(t0); d > 5*time.Second {
		logf("warming took %s", d.Round(time.Millisecond))
	}
}
