// Package cli is the meshcache command: every subcommand is a thin layer over
// the api client, and daemon over node.
package cli
