package avail

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func testRoot(t testing.TB, s string) cid.Cid {
	h, err := mh.Sum([]byte(s), mh.SHA2_256, -1)
	if err != nil {
		t.Fatal(err)
	}
	return cid.NewCidV1(cid.DagProtobuf, h)
}

func TestMessageRoundTrip(t *testing.T) {
	root := testRoot(t, "ds")
	msgs := []message{
		{typ: msgHello, root: root, leaves: 10_000_000},
		{typ: msgBitmap, root: root, offset: 1 << 20, count: 16, body: []byte{modeRaw, 1, 2}},
		{typ: msgHave, root: root, idx: []int64{0, 1, 9_999_999}},
		{typ: msgDontHave, root: root, idx: []int64{42}},
		{typ: msgRefuse, root: root, reason: "peer limit"},
	}
	for _, m := range msgs {
		got, err := decodeMessage(encodeMessage(m))
		if err != nil {
			t.Fatalf("type %d: %v", m.typ, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("type %d: got %+v, want %+v", m.typ, got, m)
		}
	}
}

func TestDecodeMessageRefuses(t *testing.T) {
	root := testRoot(t, "ds")
	ok := encodeMessage(message{typ: msgHave, root: root, idx: []int64{1, 2}})
	hdr := func(typ byte) []byte {
		return encodeMessage(message{typ: typ, root: root})[:1+1+len(root.Bytes())]
	}
	cases := map[string][]byte{
		"empty":             {},
		"unknown type":      append(hdr(9), 0),
		"no root":           {msgHave},
		"root too long":     append([]byte{msgHave}, 0xff, 0x01),
		"bad root":          {msgHave, 2, 0xff, 0xff},
		"truncated":         ok[:len(ok)-1],
		"trailing":          append(append([]byte{}, ok...), 0),
		"zero delta":        append(hdr(msgHave), 2, 1, 0),
		"count past bytes":  append(hdr(msgHave), 100, 1),
		"index too large":   binary.AppendUvarint(append(hdr(msgHave), 1), MaxLeaves+1),
		"hello too large":   binary.AppendUvarint(hdr(msgHello), MaxLeaves+1),
		"hello trailing":    append(hdr(msgHello), 5, 5),
		"bitmap no numbers": hdr(msgBitmap),
	}
	for name, b := range cases {
		if _, err := decodeMessage(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestReadFrameLimits(t *testing.T) {
	var buf bytes.Buffer
	buf.Write([]byte{0, 0x04, 0, 1}) // MaxFrame + 1
	if _, err := readFrame(&buf, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("oversized frame: %v", err)
	}
	if _, err := readFrame(bytes.NewReader([]byte{0, 0, 0, 0}), nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("empty frame: %v", err)
	}
	if err := writeFrame(&buf, make([]byte, MaxFrame+1)); err == nil {
		t.Fatal("wrote an oversized frame")
	}
}

// FuzzDecodeMessage feeds arbitrary frames to the decoder and, for those
// it accepts, to the range decoder a session would apply them with.
func FuzzDecodeMessage(f *testing.F) {
	root := testRoot(f, "ds")
	b := NewBitmap(100)
	b.SetRange(10, 50)
	f.Add(encodeMessage(message{typ: msgHello, root: root, leaves: 100}))
	f.Add(encodeMessage(message{typ: msgBitmap, root: root, offset: 0, count: 100, body: appendRange(nil, b, 0, 100)}))
	f.Add(encodeMessage(message{typ: msgBitmap, root: root, offset: 0, count: 100, body: appendRaw(nil, b, 0, 100)}))
	f.Add(encodeMessage(message{typ: msgHave, root: root, idx: []int64{3, 99}}))
	f.Add(encodeMessage(message{typ: msgRefuse, root: root, reason: "no"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMessage(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		if m.typ == msgBitmap && m.offset%8 == 0 && m.offset+m.count <= 100 && m.count > 0 {
			_ = decodeRange(m.body, NewBitmap(100), m.offset, m.offset+m.count)
		}
		if _, err := decodeMessage(encodeMessage(m)); err != nil {
			t.Fatalf("re-encoding of an accepted frame refused: %v", err)
		}
	})
}
