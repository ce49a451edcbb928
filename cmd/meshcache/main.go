// Command meshcache is the meshcache daemon and its command-line client.
package main

func main() {}
