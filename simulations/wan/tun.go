package wan

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// OpenTUN creates the TUN interface name (IFF_TUN, no packet information
// header) inside the network namespace at nsPath (e.g. /run/netns/NAME; ""
// is the caller's namespace) and returns its file, non-blocking so reads
// can be interrupted by Close. The interface lives as long as the file is
// open; it is created down, the caller brings it up.
//
// The namespace is entered on a locked OS thread that moves back to its own
// namespace afterwards; the file descriptor works from any thread.
func OpenTUN(nsPath, name string) (*os.File, error) {
	return openTUN(nsPath, name, false)
}

// TUN offload flags (include/uapi/linux/if_tun.h); x/sys/unix lacks them.
const (
	tunFCSUM = 0x01
	tunFTSO4 = 0x02
	tunFTSO6 = 0x04
	tunFUSO4 = 0x20
	tunFUSO6 = 0x40
)

// OpenOffloadTUN is OpenTUN with offloads: the TUN is opened with
// IFF_VNET_HDR and TUNSETOFFLOAD(CSUM|TSO4|TSO6|USO4|USO6), so the kernel
// hands over TCP and UDP GSO super-packets of up to 64 KiB (quic-go sends
// with UDP GSO, nginx with TSO) behind a virtio_net_hdr of VNetHdrLen
// bytes, and takes them back the same way, segmenting them later. One read
// and one write per super-packet instead of per 1500-byte packet is what
// lets the router carry every peer byte of a region. USO needs Linux 6.2;
// an older kernel refuses the ioctl and this returns the error.
func OpenOffloadTUN(nsPath, name string) (*os.File, error) {
	return openTUN(nsPath, name, true)
}

func openTUN(nsPath, name string, offload bool) (*os.File, error) {
	type result struct {
		f   *os.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, restored, err := openTUNOnThread(nsPath, name, offload)
		if restored {
			runtime.UnlockOSThread()
		} // else the thread stays locked and dies with this goroutine
		done <- result{f, err}
	}()
	r := <-done
	return r.f, r.err
}

// openTUNOnThread runs on a locked thread; restored says the thread is back
// in its own namespace (or never left it).
func openTUNOnThread(nsPath, name string, offload bool) (*os.File, bool, error) {
	if nsPath == "" {
		f, err := openTUNHere("", name, offload)
		return f, true, err
	}
	home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, true, fmt.Errorf("open own namespace: %w", err)
	}
	defer unix.Close(home)
	f, err := openTUNHere(nsPath, name, offload)
	return f, unix.Setns(home, unix.CLONE_NEWNET) == nil, err
}

func openTUNHere(nsPath, name string, offload bool) (*os.File, error) {
	if nsPath != "" {
		ns, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open namespace %s: %w", nsPath, err)
		}
		err = unix.Setns(ns, unix.CLONE_NEWNET)
		unix.Close(ns)
		if err != nil {
			return nil, fmt.Errorf("enter namespace %s: %w", nsPath, err)
		}
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun %s: %w", name, err)
	}
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if offload {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("create tun %s: %w", name, err)
	}
	if offload {
		// The default vnet header size is 10 (VNetHdrLen); say so anyway,
		// the router's parsing depends on it.
		if err := unix.IoctlSetPointerInt(fd, unix.TUNSETVNETHDRSZ, VNetHdrLen); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("tun %s: TUNSETVNETHDRSZ: %w", name, err)
		}
		if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunFCSUM|tunFTSO4|tunFTSO6|tunFUSO4|tunFUSO6); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("tun %s: TUNSETOFFLOAD csum|tso4|tso6|uso4|uso6 (USO needs Linux ≥ 6.2): %w", name, err)
		}
	}
	// A non-blocking descriptor joins Go's poller, so Close wakes a blocked Read.
	return os.NewFile(uintptr(fd), "tun:"+name), nil
}
