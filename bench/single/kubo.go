package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// kuboRepo is a fresh IPFS repo made with `ipfs init --profile=test,unixfs-v1-2025`.
type kuboRepo struct {
	bin, path string
}

// newKuboRepo initialises a repo at path. With durable set, the flatfs
// block datastore's "sync" is turned back on: the test profile turns it off,
// so by default Kubo never fsyncs a block, whereas meshcache acknowledges a
// block only once it is durable.
func newKuboRepo(ctx context.Context, bin, path string, durable bool) (*kuboRepo, error) {
	r := &kuboRepo{bin: bin, path: path}
	if _, err := r.run(ctx, "init", "--profile=test,unixfs-v1-2025"); err != nil {
		return nil, err
	}
	if durable {
		if err := r.setFlatfsSync(true); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// setFlatfsSync edits the flatfs mount's "sync" in the repo's config.
func (r *kuboRepo) setFlatfsSync(sync bool) error {
	p := filepath.Join(r.path, "config")
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		return fmt.Errorf("kubo config: %w", err)
	}
	mounts, _ := cfg["Datastore"].(map[string]any)["Spec"].(map[string]any)["mounts"].([]any)
	found := false
	for _, m := range mounts {
		if mm, ok := m.(map[string]any); ok && mm["type"] == "flatfs" {
			mm["sync"] = sync
			found = true
		}
	}
	if !found {
		return fmt.Errorf("kubo config %s: no flatfs mount", p)
	}
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(p, out, 0o600)
}

// add runs `ipfs add -r -Q --offline --hidden dir` and returns the root CID
// and the command's run (wall and CPU time).
func (r *kuboRepo) add(ctx context.Context, dir string, size int64) (string, run, error) {
	t0 := time.Now()
	cmd := r.command(ctx, "add", "-r", "-Q", "--offline", "--hidden", dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return "", run{}, fmt.Errorf("ipfs add: %w: %s", err, errb.String())
	}
	ps := cmd.ProcessState
	return strings.TrimSpace(out.String()), run{Wall: wall, CPU: ps.UserTime() + ps.SystemTime(), Bytes: size}, nil
}

func (r *kuboRepo) run(ctx context.Context, args ...string) (string, error) {
	cmd := r.command(ctx, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ipfs %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (r *kuboRepo) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, r.bin, args...)
	cmd.Env = append(os.Environ(), "IPFS_PATH="+r.path)
	return cmd
}
