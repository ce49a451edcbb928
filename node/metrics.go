package node

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// collector turns the node's statistics into Prometheus metrics at scrape
// time, so the figures have one source (the components' own counters) and
// /metrics agrees with /v1/stats.
type collector struct {
	n     *Node
	descs map[string]*prometheus.Desc
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc("meshcache_"+name, help, labels, nil)
}

func newCollector(n *Node) *collector {
	return &collector{n: n, descs: map[string]*prometheus.Desc{
		"blocks":         desc("store_blocks", "Blocks held in the local store."),
		"bytes":          desc("store_bytes", "Bytes held in the local store."),
		"capacity":       desc("store_capacity_bytes", "Configured capacity of the store (0: unlimited)."),
		"pinned":         desc("store_pinned_bytes", "Capacity reserved by pins."),
		"corrupt":        desc("store_corrupt_blocks_total", "Blocks found corrupt and quarantined since start."),
		"evicted":        desc("store_evicted_blocks_total", "Blocks evicted since start."),
		"evicted_bytes":  desc("store_evicted_bytes_total", "Bytes evicted since start."),
		"verified_reads": desc("store_verified_reads_total", "Reads that re-hashed the block."),
		"pins":           desc("pins", "Pins by state.", "state"),
		"source":         desc("fetched_bytes_total", "Bytes obtained by pins and reads, by source.", "source"),
		"origin":         desc("origin_read_bytes_total", "Bytes read from each origin.", "origin"),
		"peers":          desc("peers_connected", "Connected cluster members."),
		"peer_sent":      desc("peer_sent_bytes_total", "Block bytes served to peers."),
		"peer_received":  desc("peer_received_bytes_total", "Block bytes received from peers."),
		"peer_bad":       desc("peer_bad_blocks_total", "Blocks from peers that did not match their CID (rejected)."),
	}}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.n.stats(ctx)
	if err != nil {
		c.n.log.Warn("collect metrics", "err", err)
		return
	}
	g := func(name string, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.GaugeValue, float64(v), labels...)
	}
	k := func(name string, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(c.descs[name], prometheus.CounterValue, float64(v), labels...)
	}
	g("blocks", st.Store.Blocks)
	g("bytes", st.Store.Bytes)
	g("capacity", st.Store.Capacity)
	g("pinned", st.Store.PinnedBytes)
	k("corrupt", st.Store.Corrupt)
	k("evicted", st.Store.Evicted)
	k("evicted_bytes", st.Store.EvictedBytes)
	k("verified_reads", st.Store.VerifiedReads)
	g("pins", int64(st.Pins.Pinned), "pinned")
	g("pins", int64(st.Pins.Pinning), "pinning")
	g("pins", int64(st.Pins.Failed), "failed")
	k("source", st.BytesBySource.Local, "local")
	k("source", st.BytesBySource.Peer, "peer")
	k("source", st.BytesBySource.Origin, "origin")
	if p := st.Peers; p != nil {
		g("peers", int64(p.Connected))
		k("peer_sent", p.BytesSent)
		k("peer_received", p.BytesReceived)
		k("peer_bad", p.BadBlocks)
	}
	for _, o := range st.Origins {
		k("origin", o.BytesRead, o.Origin)
	}
}

// newMetrics serves the node's metrics and the Go runtime's from a registry
// of the node's own (no package-level registry).
func newMetrics(n *Node) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(n), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
