package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// curlGet fetches url (through a unix socket when socket is not "") to
// /dev/null and checks that want bytes came with a 200. The run's CPU is
// curl's own; callers add the server's.
func curlGet(ctx context.Context, socket, url string, want int64) (run, error) {
	args := []string{"-s", "-S", "-o", "/dev/null", "-w", "%{http_code} %{size_download}"}
	if socket != "" {
		args = append(args, "--unix-socket", socket)
	}
	return curlRun(ctx, append(args, url), func(out string) error {
		var code int
		var n int64
		if _, err := fmt.Sscan(out, &code, &n); err != nil || code != 200 || n != want {
			return fmt.Errorf("curl %s: got %q, want 200 and %d bytes", url, out, want)
		}
		return nil
	}, want)
}

// curlList fetches every URL of urls over one connection, in order, as a
// client copying a folder from a web server would: to /dev/null, or with
// outs (one path per URL) to files.
func curlList(ctx context.Context, dir string, urls, outs []string, want int64) (run, error) {
	var cfg strings.Builder
	for i, u := range urls {
		out := os.DevNull
		if outs != nil {
			out = outs[i]
		}
		fmt.Fprintf(&cfg, "url = %q\noutput = %q\n", u, out)
	}
	p := dir + "/curl-list.conf"
	if err := os.WriteFile(p, []byte(cfg.String()), 0o644); err != nil {
		return run{}, err
	}
	// %{size_download} is per transfer: -w prints one line per URL.
	return curlRun(ctx, []string{"-s", "-S", "--fail", "--create-dirs", "-K", p, "-w", "%{size_download}\n"}, func(out string) error {
		var sum int64
		lines := strings.Fields(out)
		for _, l := range lines {
			var n int64
			fmt.Sscan(l, &n)
			sum += n
		}
		if len(lines) != len(urls) || sum != want {
			return fmt.Errorf("curl of %d URLs: %d transfers, %d bytes, want %d", len(urls), len(lines), sum, want)
		}
		return nil
	}, want)
}

func curlRun(ctx context.Context, args []string, check func(out string) error, size int64) (run, error) {
	cmd := exec.CommandContext(ctx, "curl", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		return run{}, fmt.Errorf("curl: %w: %s", err, errb.String())
	}
	if err := check(out.String()); err != nil {
		return run{}, err
	}
	ps := cmd.ProcessState
	return run{Wall: wall, ClientCPU: ps.UserTime() + ps.SystemTime(), Bytes: size}, nil
}

// catFile runs `cat path > /dev/null`, the local-read reference.
func catFile(ctx context.Context, path string, size int64) (run, error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return run{}, err
	}
	defer null.Close()
	cmd := exec.CommandContext(ctx, "cat", path)
	cmd.Stdout = null
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return run{}, fmt.Errorf("cat %s: %w", path, err)
	}
	wall := time.Since(t0)
	ps := cmd.ProcessState
	return run{Wall: wall, ClientCPU: ps.UserTime() + ps.SystemTime(), Bytes: size}, nil
}
