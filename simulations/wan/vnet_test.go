package wan

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// vnetFrame is a virtio_net_hdr of gsoType/gsoSize in front of an IPv4
// packet with an L4 header of l4 bytes (a TCP data offset when 20+) and
// payload bytes of data.
func vnetFrame(src, dst string, gsoType byte, gsoSize, l4, payload int) []byte {
	h := make([]byte, VNetHdrLen)
	h[0] = 1 // NEEDS_CSUM
	h[1] = gsoType
	binary.LittleEndian.PutUint16(h[4:6], uint16(gsoSize))
	ip := ipv4(src, dst, 20+l4+payload)
	if gsoType&^gsoECN == gsoTCPv4 {
		ip[9] = 6
		ip[20+12] = byte(l4/4) << 4
	} else {
		ip[9] = 17
	}
	return append(h, ip...)
}

func TestWire(t *testing.T) {
	cases := []struct {
		name           string
		frame          []byte
		vnet           bool
		bytes, packets int64
	}{
		{"plain packet", ipv4("10.1.0.2", "10.1.0.3", 1400), false, 1400, 1},
		{"no GSO", vnetFrame("10.1.0.2", "10.1.0.3", gsoNone, 0, 8, 1000), true, 1028, 1},
		// 14 QUIC datagrams of 1252 bytes, the last short.
		{"UDP GSO", vnetFrame("10.1.0.2", "10.1.0.3", gsoUDPL4, 1252, 8, 13*1252+500), true, 13*1252 + 500 + 14*28, 14},
		// TSO with timestamps: 32-byte TCP headers, 1448-byte segments.
		{"TCP TSO", vnetFrame("10.1.255.1", "10.1.0.3", gsoTCPv4, 1448, 32, 45*1448), true, 45 * (1448 + 52), 45},
		{"TSO with ECN bit", vnetFrame("10.1.255.1", "10.1.0.3", gsoTCPv4|gsoECN, 1448, 32, 2*1448), true, 2 * (1448 + 52), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, p := wire(tc.frame, tc.vnet)
			if b != tc.bytes || p != tc.packets {
				t.Errorf("wire = %d bytes, %d packets; want %d, %d", b, p, tc.bytes, tc.packets)
			}
		})
	}
}

// TestVNetSuperPacket: with VNetHdr the router classifies by the IP
// header behind the vnet header, writes the frame back unchanged, counts
// its segments, and paces the link by their bytes.
func TestVNetSuperPacket(t *testing.T) {
	const rate = 1e6 // a 14-segment frame of ~17.9 KB takes ~18 ms
	r, dev := startRouter(t, Config{VNetHdr: true, Default: Link{Rate: rate}})
	frame := vnetFrame("10.1.0.2", "10.2.0.3", gsoUDPL4, 1252, 8, 13*1252+500)
	wantBytes, wantPackets := wire(frame, true)
	start := time.Now()
	dev.in <- frame
	dev.in <- frame
	w := waitWritten(t, dev, 2)
	if !bytes.Equal(w[0].data, frame) || !bytes.Equal(w[1].data, frame) {
		t.Fatalf("the router changed the frame")
	}
	if got, min := w[1].at.Sub(start), time.Duration(2*float64(wantBytes)/rate*float64(time.Second)); got < min-2*time.Millisecond {
		t.Errorf("two frames left after %v, faster than their segments' bytes allow (%v)", got, min)
	}
	st := r.Stats().Links
	if len(st) != 1 || st[0].Src != "eu" || st[0].Dst != "us" || st[0].Frames != 2 || st[0].Packets != 2*wantPackets || st[0].Bytes != 2*wantBytes {
		t.Errorf("stats %+v, want eu→us with 2 frames, %d packets, %d bytes", st, 2*wantPackets, 2*wantBytes)
	}
}
