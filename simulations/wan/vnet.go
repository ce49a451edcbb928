package wan

import "encoding/binary"

// VNetHdrLen is the size of the virtio_net_hdr (struct virtio_net_hdr, no
// num_buffers) in front of every packet of a TUN opened by OpenOffloadTUN.
const VNetHdrLen = 10

// virtio_net_hdr gso_type values (include/uapi/linux/virtio_net.h).
const (
	gsoNone  = 0
	gsoTCPv4 = 1
	gsoUDP   = 3 // UFO: one datagram split into IP fragments
	gsoTCPv6 = 4
	gsoUDPL4 = 5 // USO: a train of datagrams of gso_size payload each
	gsoECN   = 0x80
)

// wire is what a packet read from the device becomes on the wire: how many
// IP packets (segments) the kernel will cut it into and their total IP
// bytes. Without a vnet header, or without GSO, it is the packet itself.
//
// A GSO super-packet is one IP header and one L4 header in front of up to
// 64 KiB of payload; the kernel later segments it into payload/gso_size
// packets, each with a copy of both headers. The L4 header length is read
// from the packet rather than from the vnet header's hdr_len, which the
// kernel fills with the length of the skb's linear part (which may hold
// payload too).
func wire(p []byte, vnet bool) (bytes int64, packets int64) {
	if !vnet {
		return int64(len(p)), 1
	}
	if len(p) < VNetHdrLen {
		return 0, 0
	}
	h, ip := p[:VNetHdrLen], p[VNetHdrLen:]
	gsoType, gsoSize := h[1]&^gsoECN, int(binary.LittleEndian.Uint16(h[4:6]))
	if gsoType == gsoNone || gsoSize == 0 || len(ip) < 20 || ip[0]>>4 != 4 {
		return int64(len(ip)), 1
	}
	ihl := int(ip[0]&0x0f) * 4
	var l4 int
	switch gsoType {
	case gsoTCPv4, gsoTCPv6:
		if len(ip) < ihl+13 {
			return int64(len(ip)), 1
		}
		l4 = int(ip[ihl+12]>>4) * 4
	case gsoUDPL4:
		l4 = 8
	case gsoUDP:
		// IP fragments: the payload after the IP header is cut into
		// gso_size pieces, each behind its own IP header.
		l4 = 0
	default:
		return int64(len(ip)), 1
	}
	hdr := ihl + l4
	payload := len(ip) - hdr
	if payload <= 0 {
		return int64(len(ip)), 1
	}
	segs := (payload + gsoSize - 1) / gsoSize
	return int64(payload + segs*hdr), int64(segs)
}
