package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func newKey(t testing.TB) Key {
	t.Helper()
	var b [KeySize]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	k, err := NewKey(b[:])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newPeer(t testing.TB) peer.ID {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type result struct {
	key KeyID
	err error
}

// pipeHandshake runs both sides over an in-memory connection.
func pipeHandshake(ini, resp Keys, iID, rID peer.ID) (i, r result) {
	c1, c2 := net.Pipe()
	done := make(chan result, 1)
	go func() {
		k, err := Respond(c2, rID, iID, resp)
		c2.Close()
		done <- result{k, err}
	}()
	k, err := Initiate(c1, iID, rID, ini)
	c1.Close()
	return result{k, err}, <-done
}

func TestHandshakeKeys(t *testing.T) {
	old, cur, other := newKey(t), newKey(t), newKey(t)
	cases := []struct {
		name      string
		ini, resp Keys
		want      KeyID // zero when refused
	}{
		{"same key", Keys{cur}, Keys{cur}, cur.ID()},
		{"rotating initiator, old responder", Keys{cur, old}, Keys{old}, old.ID()},
		{"rotating initiator, new responder", Keys{cur, old}, Keys{cur}, cur.ID()},
		{"old initiator, rotating responder", Keys{old}, Keys{cur, old}, old.ID()},
		{"both rotating prefer the responder's first", Keys{old, cur}, Keys{cur, old}, cur.ID()},
		{"disjoint", Keys{other}, Keys{cur, old}, KeyID{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i, r := pipeHandshake(tc.ini, tc.resp, newPeer(t), newPeer(t))
			if tc.want == (KeyID{}) {
				if !errors.Is(i.err, ErrRefused) || !errors.Is(r.err, ErrRefused) {
					t.Fatalf("want both refused, got initiator %v, responder %v", i.err, r.err)
				}
				return
			}
			if i.err != nil || r.err != nil {
				t.Fatalf("initiator %v, responder %v", i.err, r.err)
			}
			if i.key != tc.want || r.key != tc.want {
				t.Fatalf("keys %s/%s, want %s", i.key, r.key, tc.want)
			}
		})
	}
}

// TestHandshakeBindsPeerIDs: a responder that believes it talks to a
// different initiator than the one who computed the proof refuses it.
func TestHandshakeBindsPeerIDs(t *testing.T) {
	k := Keys{newKey(t)}
	a, b, c := newPeer(t), newPeer(t), newPeer(t)
	c1, c2 := net.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := Respond(c2, c, b, k) // responder sees b
		c2.Close()
		done <- err
	}()
	_, ierr := Initiate(c1, a, c, k) // initiator is a
	c1.Close()
	if rerr := <-done; !errors.Is(rerr, ErrRefused) {
		t.Fatalf("responder accepted a proof bound to another peer: %v", rerr)
	}
	if !errors.Is(ierr, ErrRefused) {
		t.Fatalf("initiator: %v, want refused", ierr)
	}
}

// recorder keeps what one side wrote.
type recorder struct {
	io.ReadWriter
	out bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.out.Write(p)
	return r.ReadWriter.Write(p)
}

// TestReplayFailsWithFreshNonce: even the same pair of peer IDs cannot
// reuse a recorded initiator transcript, because the responder's nonce is
// new every time.
func TestReplayFailsWithFreshNonce(t *testing.T) {
	k := Keys{newKey(t)}
	a, c := newPeer(t), newPeer(t)
	c1, c2 := net.Pipe()
	done := make(chan error, 1)
	go func() { _, err := Respond(c2, c, a, k); c2.Close(); done <- err }()
	rec := &recorder{ReadWriter: c1}
	if _, err := Initiate(rec, a, c, k); err != nil {
		t.Fatal(err)
	}
	c1.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	frames := splitFrames(t, rec.out.Bytes())
	if len(frames) != 2 {
		t.Fatalf("recorded %d frames, want hello and proof", len(frames))
	}
	// Replay to a fresh responder: hello, then the old proof.
	in := bytes.NewBuffer(nil)
	for _, f := range frames {
		if err := writeFrame(in, f); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	_, err := Respond(struct {
		io.Reader
		io.Writer
	}{in, &out}, c, a, k)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("replayed transcript: %v, want refused", err)
	}
}

func splitFrames(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	r := bytes.NewReader(b)
	for r.Len() > 0 {
		f, err := readFrame(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func frame(payload []byte) []byte {
	b := make([]byte, 2, 2+len(payload))
	binary.BigEndian.PutUint16(b, uint16(len(payload)))
	return append(b, payload...)
}

// TestRespondMalformed feeds the responder broken first messages: each is
// a refusal (never a panic, never an allocation past the limit).
func TestRespondMalformed(t *testing.T) {
	k := newKey(t)
	id := k.ID()
	okHello := encodeHello(hello{keys: []KeyID{id}})
	cases := []struct {
		name    string
		in      []byte
		refused bool
	}{
		{"oversized length", []byte{0xff, 0xff, 1, 2, 3}, true},
		{"zero length", []byte{0, 0}, true},
		{"wrong type", frame(append([]byte{msgProof}, okHello[1:]...)), true},
		{"wrong version", frame(append([]byte{msgHello, 9}, okHello[2:]...)), true},
		{"no keys", frame(append(append([]byte{msgHello, version}, make([]byte, NonceSize)...), 0)), true},
		{"count past limit", frame(append(append([]byte{msgHello, version}, make([]byte, NonceSize)...), maxKeys+1)), true},
		{"count disagrees with length", frame(append(okHello, 1, 2, 3)), true},
		{"short", frame([]byte{msgHello}), true},
		{"refuse instead of hello", frame([]byte{msgRefuse, 1}), true},
		{"truncated frame", frame(okHello)[:10], false},
		{"nothing", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := Respond(struct {
				io.Reader
				io.Writer
			}{bytes.NewReader(tc.in), &out}, newPeer(t), newPeer(t), Keys{k})
			if err == nil {
				t.Fatal("accepted")
			}
			if got := errors.Is(err, ErrRefused); got != tc.refused {
				t.Fatalf("err %v: refused=%v, want %v", err, got, tc.refused)
			}
		})
	}
}

// FuzzFrames: no input makes the frame reader or a decoder panic, and
// whatever decodes re-encodes to the same bytes.
func FuzzFrames(f *testing.F) {
	var id KeyID
	f.Add(frame(encodeHello(hello{keys: []KeyID{id, id}})))
	f.Add(frame(encodeChallenge(challenge{})))
	f.Add(frame(encodeProof([macSize]byte{})))
	f.Add([]byte{0xff, 0xff})
	f.Add([]byte{0, 1, msgOK})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := readFrame(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(b) == 0 || len(b) > maxFrame {
			t.Fatalf("frame of %d bytes passed the limit", len(b))
		}
		if h, err := decodeHello(b); err == nil && !bytes.Equal(encodeHello(h), b) {
			t.Fatal("hello does not round-trip")
		}
		if c, err := decodeChallenge(b); err == nil && !bytes.Equal(encodeChallenge(c), b) {
			t.Fatal("challenge does not round-trip")
		}
		if m, err := decodeProof(b); err == nil && !bytes.Equal(encodeProof(m), b) {
			t.Fatal("proof does not round-trip")
		}
		_ = checkRefuse(b)
	})
}

// FuzzRespond: arbitrary bytes from an initiator never panic the
// responder and never authenticate.
func FuzzRespond(f *testing.F) {
	var seed [KeySize]byte
	k, _ := NewKey(seed[:])
	f.Add(frame(encodeHello(hello{keys: []KeyID{k.ID()}})))
	f.Add(append(frame(encodeHello(hello{keys: []KeyID{k.ID()}})), frame(encodeProof([macSize]byte{}))...))
	a, b := newPeer(f), newPeer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		if _, err := Respond(struct {
			io.Reader
			io.Writer
		}{bytes.NewReader(data), &out}, a, b, Keys{k}); err == nil {
			t.Fatal("random bytes authenticated")
		}
	})
}
