package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"
)

// ProtocolID is the authentication protocol, run on a stream the dialing
// side opens right after connecting.
const ProtocolID = "/meshcache/auth/1"

// Labels keep the two MACs apart, so a responder's MAC can never be
// reflected back as an initiator's proof.
const (
	labelResponder = "meshcache auth v1 responder"
	labelInitiator = "meshcache auth v1 initiator"
)

// Transcript is everything both MACs bind: the protocol, who initiated and
// who responded (peer IDs the transport already authenticated), a fresh
// nonce from each side and the key chosen.
type Transcript struct {
	Initiator, Responder peer.ID
	InitiatorNonce       [NonceSize]byte
	ResponderNonce       [NonceSize]byte
	Key                  KeyID
}

func (t Transcript) mac(k Key, label string) [macSize]byte {
	m := hmac.New(sha256.New, k.secret[:])
	for _, part := range [][]byte{
		[]byte(label), []byte(ProtocolID), []byte(t.Initiator), []byte(t.Responder),
		t.InitiatorNonce[:], t.ResponderNonce[:], t.Key[:],
	} {
		// Length-prefix every part: no two transcripts share an encoding.
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		m.Write(n[:])
		m.Write(part)
	}
	var out [macSize]byte
	copy(out[:], m.Sum(nil))
	return out
}

// Initiate runs the initiator's side over rw: offer every accepted key id,
// check the responder's MAC, prove our own, and wait for the verdict. It
// returns the key used, or an error wrapping ErrRefused when the responder
// is not a member or refused us.
func Initiate(rw io.ReadWriter, local, remote peer.ID, keys Keys) (KeyID, error) {
	if len(keys) == 0 || len(keys) > maxKeys {
		return KeyID{}, fmt.Errorf("%d cluster keys, want 1..%d", len(keys), maxKeys)
	}
	t := Transcript{Initiator: local, Responder: remote}
	if _, err := rand.Read(t.InitiatorNonce[:]); err != nil {
		return KeyID{}, fmt.Errorf("nonce: %w", err)
	}
	h := hello{nonce: t.InitiatorNonce}
	for _, k := range keys {
		h.keys = append(h.keys, k.id)
	}
	if err := writeFrame(rw, encodeHello(h)); err != nil {
		return KeyID{}, fmt.Errorf("send hello: %w", err)
	}
	b, err := readFrame(rw)
	if err != nil {
		return KeyID{}, fmt.Errorf("read challenge: %w", err)
	}
	if err := checkRefuse(b); err != nil {
		return KeyID{}, err
	}
	c, err := decodeChallenge(b)
	if err != nil {
		return KeyID{}, err
	}
	key, ok := keys.find(c.key)
	if !ok {
		return KeyID{}, refused("responder chose key %s we did not offer", c.key)
	}
	t.ResponderNonce, t.Key = c.nonce, c.key
	if want := t.mac(key, labelResponder); !hmac.Equal(want[:], c.mac[:]) {
		_ = writeFrame(rw, []byte{msgRefuse, reasonBadProof})
		return KeyID{}, refused("responder's proof does not verify")
	}
	if err := writeFrame(rw, encodeProof(t.mac(key, labelInitiator))); err != nil {
		return KeyID{}, fmt.Errorf("send proof: %w", err)
	}
	b, err = readFrame(rw)
	if err != nil {
		return KeyID{}, fmt.Errorf("read verdict: %w", err)
	}
	if err := checkRefuse(b); err != nil {
		return KeyID{}, err
	}
	if len(b) != 1 || b[0] != msgOK {
		return KeyID{}, refused("malformed verdict")
	}
	return key.id, nil
}

// Respond runs the responder's side over rw: pick the first of our keys
// the initiator offers, prove it with a fresh nonce, and check the
// initiator's proof. Refusals are sent to the initiator before returning.
func Respond(rw io.ReadWriter, local, remote peer.ID, keys Keys) (KeyID, error) {
	b, err := readFrame(rw)
	if err != nil {
		return KeyID{}, fmt.Errorf("read hello: %w", err)
	}
	h, err := decodeHello(b)
	if err != nil {
		_ = writeFrame(rw, []byte{msgRefuse, reasonMalformed})
		return KeyID{}, err
	}
	key, ok := chooseKey(keys, h.keys)
	if !ok {
		_ = writeFrame(rw, []byte{msgRefuse, reasonNoCommonKey})
		return KeyID{}, refused("no common cluster key")
	}
	t := Transcript{Initiator: remote, Responder: local, InitiatorNonce: h.nonce, Key: key.id}
	if _, err := rand.Read(t.ResponderNonce[:]); err != nil {
		return KeyID{}, fmt.Errorf("nonce: %w", err)
	}
	c := challenge{key: key.id, nonce: t.ResponderNonce, mac: t.mac(key, labelResponder)}
	if err := writeFrame(rw, encodeChallenge(c)); err != nil {
		return KeyID{}, fmt.Errorf("send challenge: %w", err)
	}
	b, err = readFrame(rw)
	if err != nil {
		return KeyID{}, fmt.Errorf("read proof: %w", err)
	}
	if err := checkRefuse(b); err != nil {
		return KeyID{}, err
	}
	mac, err := decodeProof(b)
	if err != nil {
		_ = writeFrame(rw, []byte{msgRefuse, reasonMalformed})
		return KeyID{}, err
	}
	if want := t.mac(key, labelInitiator); !hmac.Equal(want[:], mac[:]) {
		_ = writeFrame(rw, []byte{msgRefuse, reasonBadProof})
		return KeyID{}, refused("initiator's proof does not verify")
	}
	if err := writeFrame(rw, []byte{msgOK}); err != nil {
		return KeyID{}, fmt.Errorf("send verdict: %w", err)
	}
	return key.id, nil
}

// chooseKey prefers our own order, so a rotation's new key (listed first)
// wins as soon as both sides hold it.
func chooseKey(ours Keys, offered []KeyID) (Key, bool) {
	for _, k := range ours {
		for _, id := range offered {
			if k.id == id {
				return k, true
			}
		}
	}
	return Key{}, false
}
