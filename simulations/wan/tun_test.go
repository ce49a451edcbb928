package wan

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/meshcache/meshcache/internal/testenv"
)

// TestOpenTUNInNamespace: the TUN appears in the namespace asked for, not in
// the caller's, and goes away when its file is closed.
func TestOpenTUNInNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	ns := fmt.Sprintf("mcewan%d", os.Getpid()%10000)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	f, err := OpenTUN("/run/netns/"+ns, "tuntest0")
	if err != nil {
		t.Fatal(err)
	}
	links := func(args ...string) string {
		out, err := exec.Command("ip", append(args, "-o", "link", "show")...).Output()
		if err != nil {
			t.Fatalf("ip link: %v", err)
		}
		return string(out)
	}
	if !strings.Contains(links("-n", ns), "tuntest0") {
		t.Errorf("tuntest0 missing in %s:\n%s", ns, links("-n", ns))
	}
	if strings.Contains(links(), "tuntest0") {
		t.Errorf("tuntest0 appeared in the caller's namespace")
	}
	f.Close()
	if strings.Contains(links("-n", ns), "tuntest0") {
		t.Errorf("tuntest0 still exists after its file closed")
	}
}

// TestOffloadTUNPassesGSO: a UDP GSO send (UDP_SEGMENT, as quic-go does)
// routed into an offload TUN arrives as one super-packet behind a
// virtio_net_hdr, and wire counts it as the datagrams the kernel would
// have sent.
func TestOffloadTUNPassesGSO(t *testing.T) {
	testenv.RequireRoot(t)
	ns := fmt.Sprintf("mcewano%d", os.Getpid()%10000)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	f, err := OpenOffloadTUN("/run/netns/"+ns, "tuno0")
	if err != nil {
		t.Fatalf("OpenOffloadTUN: %v", err)
	}
	defer f.Close()
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "set", "tuno0", "up"},
		{"addr", "add", "10.9.0.1/24", "dev", "tuno0"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
	}
	const seg, n = 1000, 10
	if err := sendGSO(ns, [4]byte{10, 9, 0, 2}, seg, n); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65536+VNetHdrLen)
	f.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		m, err := f.Read(buf)
		if err != nil {
			t.Fatalf("no UDP frame from the TUN: %v", err)
		}
		p := buf[:m]
		if m < VNetHdrLen+28 || p[VNetHdrLen]>>4 != 4 || p[VNetHdrLen+9] != 17 {
			continue // IPv6 chatter of the new link
		}
		if gsoType, size := p[1], binary.LittleEndian.Uint16(p[4:6]); gsoType != gsoUDPL4 || size != seg {
			t.Fatalf("vnet header gso_type %d gso_size %d, want %d and %d: no UDP GSO super-packet", gsoType, size, gsoUDPL4, seg)
		}
		if want := VNetHdrLen + 28 + seg*n; m != want {
			t.Errorf("frame of %d bytes, want %d (header, IP, UDP, %d×%d payload)", m, want, n, seg)
		}
		bytes, packets := wire(p, true)
		if packets != n || bytes != n*(28+seg) {
			t.Errorf("wire: %d packets, %d bytes; want %d and %d", packets, bytes, n, n*(28+seg))
		}
		return
	}
}

// sendGSO sends one UDP GSO write of n segments of seg bytes to dst:9 from
// a socket in namespace ns.
func sendGSO(ns string, dst [4]byte, seg, n int) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is left in ns: it stays locked and dies with this goroutine.
		runtime.LockOSThread()
		nsFD, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(nsFD)
		if err := unix.Setns(nsFD, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(s)
		if err := unix.SetsockoptInt(s, unix.IPPROTO_UDP, unix.UDP_SEGMENT, seg); err != nil {
			errc <- fmt.Errorf("UDP_SEGMENT: %w", err)
			return
		}
		errc <- unix.Sendto(s, make([]byte, seg*n), 0, &unix.SockaddrInet4{Port: 9, Addr: dst})
	}()
	return <-errc
}
