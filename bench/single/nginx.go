package main

import (
	"time"

	"github.com/meshcache/meshcache/internal/testenv"
)

// nginx is the tests' nginx tuned for throughput (no access log: the bench
// counts bytes itself), plus the CPU accounting the bench reports.
type nginx struct {
	*testenv.NginxServer
}

func startNginx(bin, prefix, root string) (*nginx, error) {
	s, err := testenv.LaunchNginx(prefix, root, testenv.NginxOptions{Binary: bin, Throughput: true})
	if err != nil {
		return nil, err
	}
	return &nginx{s}, nil
}

func (n *nginx) cpu() time.Duration {
	c, err := procCPU(n.Pid())
	if err != nil {
		fatalf("%v", err)
	}
	return c
}
