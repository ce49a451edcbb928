package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// These tests run the real meshcache binary as a subprocess: daemons that
// are killed with SIGKILL (from outside, or from inside through the disk
// seam of MESHCACHE_TEST_FAULT), stopped with SIGTERM, restarted on the same
// data directory, and the command line as users type it. The origin is a
// real nginx whose access log counts every byte read from it.

// binPath is the meshcache binary TestMain builds once for every test.
var binPath string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "meshcache-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "meshcache")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build meshcache:", err)
		return 1
	}
	defer shared.cleanup()
	return m.Run()
}
