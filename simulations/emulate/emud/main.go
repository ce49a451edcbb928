// Command emud runs the emulation's WAN router (emulate.RouterFromEnv) for
// the harness's tests: `meshcache emulate helper` without the rest of the
// CLI, built without the race detector so the router forwards at full speed
// while the test itself runs under -race.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/meshcache/meshcache/simulations/emulate"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	ok, err := emulate.RouterFromEnv(ctx, os.Stderr)
	stop()
	if !ok {
		err = emulate.ErrNoRouter
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "emud:", err)
		os.Exit(1)
	}
}
