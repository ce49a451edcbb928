package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/meshcache/meshcache/bench/mesh/baseline"
)

// quicServeEnv, when set to a block count, makes this binary a raw quic-go
// server holding that many random 1 MiB blocks: it prints its address and
// serves until its standard input closes. A pin between two daemons crosses
// processes (each side's wake-ups go through the kernel's scheduler), so the
// baseline is measured that way too, beside the in-process one.
const quicServeEnv = "MESHCACHE_BENCH_QUIC_SERVE"

// serveQUICChild runs the child side; it returns the exit code.
func serveQUICChild(n string) int {
	blocks, err := strconv.Atoi(n)
	if err != nil || blocks < 1 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a block count\n", quicServeEnv, n)
		return 2
	}
	held := make([][]byte, blocks)
	for i := range held {
		held[i] = make([]byte, 1<<20)
		_, _ = rand.Read(held[i])
	}
	srv, err := baseline.ListenQUIC(held)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	fmt.Println(srv.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// remoteQUIC is a raw quic-go server in a child process and the
// connection to it.
type remoteQUIC struct {
	*baseline.QUIC
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startRemoteQUIC(ctx context.Context, blocks int) (*remoteQUIC, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", quicServeEnv, blocks))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the raw quic-go server: %w", err)
	}
	r := &remoteQUIC{cmd: cmd, stdin: stdin}
	addr, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("raw quic-go server address: %w", err)
	}
	r.QUIC, err = baseline.DialQUIC(ctx, strings.TrimSpace(addr), blocks, 1<<20)
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *remoteQUIC) pid() int { return r.cmd.Process.Pid }

// Close ends the connection and the child.
func (r *remoteQUIC) Close() error {
	if r.QUIC != nil {
		_ = r.QUIC.Close()
	}
	_ = r.stdin.Close()
	return r.cmd.Wait()
}
