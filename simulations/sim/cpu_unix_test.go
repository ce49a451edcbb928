//go:build unix

package sim

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system CPU time: the benchmark
// reports it beside wall time because wall time on a shared machine
// measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
