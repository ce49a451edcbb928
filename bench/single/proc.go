package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// procCPU is the user + system CPU time a process has used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu of %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces: fields are counted from
	// the closing parenthesis, after which utime and stime are the 12th
	// and 13th.
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu of %d: short /proc stat line", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu of %d: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return time.Duration(ut+st) * clockTick, nil
}

// procHWM is a process's peak resident set size (VmHWM) in bytes.
func procHWM(pid int) (int64, error) {
	return procStatus(pid, "VmHWM:")
}

// procRSS is a process's current resident set size (VmRSS) in bytes.
func procRSS(pid int) (int64, error) {
	return procStatus(pid, "VmRSS:")
}

func procStatus(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("status of %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field)
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status of %d: %s %q: %w", pid, field, rest, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("status of %d: no %s line", pid, field)
}

// selfCPU is this process's user + system CPU time (the in-process Go file
// server's cost is read from it).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// warm reads every regular file under the given paths once, so that the
// measured read that follows finds them in the page cache (this machine's
// reclaim daemon evicts pages idle for about a minute).
func warm(paths ...string) (int64, error) {
	buf := make([]byte, 1<<20)
	var total int64
	for _, root := range paths {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{f}, buf)
			total += n
			return err
		})
		if err != nil {
			return total, fmt.Errorf("warm %s: %w", root, err)
		}
	}
	return total, nil
}
