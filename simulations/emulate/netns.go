package emulate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run runs a command (ip, tc, sysctl) and wraps its output into the error.
func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// ipIn runs `ip -n ns ARGS`.
func ipIn(ctx context.Context, ns string, args ...string) error {
	return run(ctx, "ip", append([]string{"-n", ns}, args...)...)
}

// nsPath is where `ip netns` keeps a namespace's handle.
func nsPath(ns string) string { return "/run/netns/" + ns }

// Namespaces lists the network namespaces whose names start with prefix+"-".
func Namespaces(ctx context.Context, prefix string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "ip", "netns", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("ip netns list: %w", err)
	}
	var names []string
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix+"-") {
			names = append(names, f[0])
		}
	}
	return names, nil
}

// Cleanup kills every process in the namespaces named prefix-* and deletes
// them (which deletes their veths, bridges and TUN devices), and removes the
// default work folders $TMPDIR/prefix-*. It is what a run does when it
// ends, and what `meshcache emulate --cleanup` does for leftovers of a run
// that was killed.
func Cleanup(ctx context.Context, prefix string) error {
	if !validPrefix(prefix) {
		return fmt.Errorf("cleanup: bad prefix %q: want letters, digits, '_' or '.'", prefix)
	}
	names, err := Namespaces(ctx, prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, ns := range names {
		killNamespace(ctx, ns)
		if err := run(ctx, "ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"-*"))
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killNamespace SIGKILLs the processes still in ns and waits briefly for
// them to go, so deleting the namespace leaves nothing running.
func killNamespace(ctx context.Context, ns string) {
	for range 50 {
		out, err := exec.CommandContext(ctx, "ip", "netns", "pids", ns).Output()
		if err != nil || len(bytes.TrimSpace(out)) == 0 {
			return
		}
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// DefaultPrefix is a per-process prefix, "mce<pid%10000>".
func DefaultPrefix() string { return fmt.Sprintf("mce%d", os.Getpid()%10000) }

// validPrefix accepts short names that are safe in namespace names and
// globs.
func validPrefix(p string) bool {
	if p == "" || len(p) > 32 {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
