package emulate

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// inNamespace runs fn on an OS thread that entered the network namespace
// ns, then moves the thread back and releases it. Sockets fn opens stay in
// ns and work from any goroutine.
//
// The thread must not simply die locked (the usual way to discard a
// namespaced thread): a child process started with Pdeathsig from that
// same OS thread earlier, such as the router, would be killed with it.
func inNamespace(ns string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("open own namespace: %w", err)
			return
		}
		defer unix.Close(home)
		fd, err := unix.Open(nsPath(ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("open namespace %s: %w", ns, err)
			return
		}
		err = unix.Setns(fd, unix.CLONE_NEWNET)
		unix.Close(fd)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("enter namespace %s: %w", ns, err)
			return
		}
		err = fn()
		if unix.Setns(home, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		} // else the thread stays locked and dies with this goroutine
		done <- err
	}()
	return <-done
}

// measureRTT is the smallest round trip of a few UDP echoes from a host in
// namespace from to a UDP echo socket at addr in namespace to.
func measureRTT(ctx context.Context, from, to string, addr netip.Addr) (time.Duration, error) {
	var srv, cli *net.UDPConn
	err := inNamespace(to, func() (err error) {
		srv, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("echo server in %s: %w", to, err)
	}
	defer srv.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, a, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			srv.WriteToUDPAddrPort(buf[:n], a)
		}
	}()
	err = inNamespace(from, func() (err error) {
		cli, err = net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("echo client in %s: %w", from, err)
	}
	defer cli.Close()
	best := time.Duration(0)
	buf := make([]byte, 64)
	for i := range 3 {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		start := time.Now()
		cli.SetDeadline(start.Add(2 * time.Second))
		if _, err := cli.Write([]byte{byte(i)}); err != nil {
			return 0, fmt.Errorf("echo %s→%s: %w", from, to, err)
		}
		if !readEcho(cli, buf, byte(i)) {
			continue // lost (e.g. an ARP miss on the first probe); try again
		}
		if d := time.Since(start); best == 0 || d < best {
			best = d
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("echo %s→%s (%s): no answer", from, to, addr)
	}
	return best, nil
}

// readEcho reads until the echo of probe seq arrives (a late answer to an
// earlier probe must not count as a fast one) or the deadline passes.
func readEcho(c *net.UDPConn, buf []byte, seq byte) bool {
	for {
		n, err := c.Read(buf)
		if err != nil {
			return false
		}
		if n == 1 && buf[0] == seq {
			return true
		}
	}
}
