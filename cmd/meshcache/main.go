// Command meshcache is the meshcache daemon and its command-line client.
package main

import "github.com/meshcache/meshcache/cli"

func main() { cli.Run() }
