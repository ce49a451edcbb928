package auth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Wire format: every message is one frame, a 2-byte big-endian length and
// that many bytes, the first of which is the message type. Messages have
// fixed layouts, so any frame longer than maxFrame is hostile.
const (
	maxFrame = 1 + 1 + NonceSize + 1 + maxKeys*KeyIDSize
	maxKeys  = 8
	// NonceSize is the length of each side's fresh nonce.
	NonceSize = 32
	macSize   = 32
	version   = 1
)

const (
	msgHello     byte = 1 // initiator: version, nonce, offered key ids
	msgChallenge byte = 2 // responder: chosen key id, nonce, responder MAC
	msgProof     byte = 3 // initiator: initiator MAC
	msgOK        byte = 4 // responder: initiator accepted
	msgRefuse    byte = 5 // either: reason
)

// Refusal reasons carried in msgRefuse.
const (
	reasonNoCommonKey byte = 1
	reasonBadProof    byte = 2
	reasonMalformed   byte = 3
)

// ErrRefused marks a definitive failure: the peer does not hold a common
// key, sent a wrong proof or broke the protocol. Other errors (I/O,
// timeouts) say nothing about membership.
var ErrRefused = errors.New("peer refused")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

type hello struct {
	nonce [NonceSize]byte
	keys  []KeyID
}

type challenge struct {
	key   KeyID
	nonce [NonceSize]byte
	mac   [macSize]byte
}

func writeFrame(w io.Writer, payload []byte) error {
	if len(payload) == 0 || len(payload) > maxFrame {
		return fmt.Errorf("frame of %d bytes", len(payload))
	}
	buf := make([]byte, 2+len(payload))
	binary.BigEndian.PutUint16(buf, uint16(len(payload)))
	copy(buf[2:], payload)
	_, err := w.Write(buf)
	return err
}

// readFrame reads one frame, refusing empty or oversized ones before
// allocating.
func readFrame(r io.Reader) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(hdr[:]))
	if n == 0 || n > maxFrame {
		return nil, refused("frame of %d bytes (limit %d)", n, maxFrame)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func encodeHello(h hello) []byte {
	b := make([]byte, 0, 3+NonceSize+len(h.keys)*KeyIDSize)
	b = append(b, msgHello, version)
	b = append(b, h.nonce[:]...)
	b = append(b, byte(len(h.keys)))
	for _, k := range h.keys {
		b = append(b, k[:]...)
	}
	return b
}

func decodeHello(b []byte) (hello, error) {
	var h hello
	if len(b) < 3+NonceSize || b[0] != msgHello {
		return h, refused("malformed hello")
	}
	if b[1] != version {
		return h, refused("auth version %d, want %d", b[1], version)
	}
	copy(h.nonce[:], b[2:])
	n := int(b[2+NonceSize])
	rest := b[3+NonceSize:]
	if n == 0 || n > maxKeys || len(rest) != n*KeyIDSize {
		return h, refused("hello offers %d key ids in %d bytes", n, len(rest))
	}
	h.keys = make([]KeyID, n)
	for i := range h.keys {
		copy(h.keys[i][:], rest[i*KeyIDSize:])
	}
	return h, nil
}

func encodeChallenge(c challenge) []byte {
	b := make([]byte, 0, 1+KeyIDSize+NonceSize+macSize)
	b = append(b, msgChallenge)
	b = append(b, c.key[:]...)
	b = append(b, c.nonce[:]...)
	return append(b, c.mac[:]...)
}

func decodeChallenge(b []byte) (challenge, error) {
	var c challenge
	if len(b) != 1+KeyIDSize+NonceSize+macSize || b[0] != msgChallenge {
		return c, refused("malformed challenge")
	}
	copy(c.key[:], b[1:])
	copy(c.nonce[:], b[1+KeyIDSize:])
	copy(c.mac[:], b[1+KeyIDSize+NonceSize:])
	return c, nil
}

func encodeProof(mac [macSize]byte) []byte { return append([]byte{msgProof}, mac[:]...) }

func decodeProof(b []byte) ([macSize]byte, error) {
	var mac [macSize]byte
	if len(b) != 1+macSize || b[0] != msgProof {
		return mac, refused("malformed proof")
	}
	copy(mac[:], b[1:])
	return mac, nil
}

// checkRefuse turns a msgRefuse from the other side into an error, so
// every decoder's caller reports it the same way.
func checkRefuse(b []byte) error {
	if len(b) == 2 && b[0] == msgRefuse {
		return refused("the other side refused us (reason %d)", b[1])
	}
	return nil
}
