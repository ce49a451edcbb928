// Package node is the meshcache daemon: its configuration, the wiring of
// the block store, origins, datasets and pins behind the API, its lifecycle
// and clean shutdown, and its metrics.
package node
