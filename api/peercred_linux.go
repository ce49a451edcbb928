package api

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

const groupsFromSockopt = "SO_PEERGROUPS"

// peerCred reads the credentials the kernel recorded when the peer of c
// connected: SO_PEERCRED for pid/uid/gid, SO_PEERGROUPS for supplementary
// groups, or /proc/<pid>/status when the kernel lacks SO_PEERGROUPS (< 4.13).
func peerCred(c *net.UnixConn) Peer {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{Err: fmt.Errorf("peer credentials: %w", err)}
	}
	var p Peer
	cerr := raw.Control(func(fd uintptr) {
		p = peerCredFD(int(fd))
	})
	if cerr != nil {
		return Peer{Err: fmt.Errorf("peer credentials: %w", cerr)}
	}
	return p
}

func peerCredFD(fd int) Peer {
	uc, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return Peer{Err: fmt.Errorf("getsockopt SO_PEERCRED: %w", err)}
	}
	p := Peer{PID: uc.Pid, UID: uc.Uid, GID: uc.Gid, GroupsFrom: groupsFromSockopt}
	p.Groups, err = peerGroups(fd)
	if errors.Is(err, unix.ENOPROTOOPT) {
		p.GroupsFrom = fmt.Sprintf("/proc/%d/status", uc.Pid)
		p.Groups, err = procGroups(uc.Pid)
	}
	if err != nil {
		p.Err = fmt.Errorf("supplementary groups of pid %d: %w", uc.Pid, err)
	}
	return p
}

// peerGroups calls getsockopt(SO_PEERGROUPS) directly: unix.GetsockoptString
// cuts the gid array at its first zero byte.
func peerGroups(fd int) ([]uint32, error) {
	buf := make([]uint32, 64)
	for {
		size := uint32(len(buf) * 4)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
		switch {
		case errno == unix.ERANGE && int(size/4) > len(buf):
			buf = make([]uint32, size/4)
			continue
		case errno != 0:
			return nil, fmt.Errorf("getsockopt SO_PEERGROUPS: %w", errno)
		}
		return buf[:size/4], nil
	}
}

// procGroups reads the "Groups:" line of /proc/<pid>/status.
func procGroups(pid int32) ([]uint32, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var gids []uint32
		for _, field := range strings.Fields(rest) {
			g, err := strconv.ParseUint(field, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("parse /proc/%d/status Groups %q: %w", pid, field, err)
			}
			gids = append(gids, uint32(g))
		}
		return gids, nil
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read /proc/%d/status: %w", pid, err)
	}
	return nil, fmt.Errorf("/proc/%d/status has no Groups line", pid)
}
