package avail

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"testing"
)

func TestBitmapOps(t *testing.T) {
	b := NewBitmap(130)
	if b.Has(5) || b.Count() != 0 {
		t.Fatal("new bitmap not empty")
	}
	if !b.Set(5) || b.Set(5) || !b.Has(5) {
		t.Fatal("Set")
	}
	if b.Set(130) || b.Set(-1) || b.Has(130) {
		t.Fatal("out-of-range index accepted")
	}
	b.SetRange(60, 129)
	if b.Count() != 70 || !b.Has(128) || b.Has(129) || b.Has(59) {
		t.Fatalf("SetRange: count %d", b.Count())
	}
	if !b.Clear(64) || b.Clear(64) || b.Has(64) || b.Count() != 69 {
		t.Fatal("Clear")
	}
	c := b.Clone()
	c.Set(0)
	if b.Has(0) || b.Equal(c) {
		t.Fatal("Clone shares storage")
	}
}

// shapes are bitmaps the encoder meets: empty, full, a prefix (a pin in
// progress), scattered spans (eviction), random halves (worst case).
func shapes(n int64) map[string]*Bitmap {
	r := rand.New(rand.NewPCG(1, 2))
	out := map[string]*Bitmap{}
	out["empty"] = NewBitmap(n)
	full := NewBitmap(n)
	full.SetRange(0, n)
	out["full"] = full
	prefix := NewBitmap(n)
	prefix.SetRange(0, n*2/3+1)
	out["prefix"] = prefix
	spans := NewBitmap(n)
	for i := int64(0); i < n; i += 4096 {
		spans.SetRange(i, i+int64(r.IntN(4096)))
	}
	out["spans"] = spans
	random := NewBitmap(n)
	for i := range n {
		if r.IntN(2) == 0 {
			random.Set(i)
		}
	}
	out["random"] = random
	return out
}

func TestBitmapEncodingRoundTrip(t *testing.T) {
	for _, n := range []int64{0, 1, 7, 8, 63, 64, 65, 1000, 3 << 20} {
		for name, b := range shapes(n) {
			data, err := b.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			var got Bitmap
			if err := got.UnmarshalBinary(data); err != nil {
				t.Fatalf("n=%d %s: %v", n, name, err)
			}
			if !got.Equal(b) {
				t.Fatalf("n=%d %s: round trip differs", n, name)
			}
			if raw := rawSize(n) + 1 + 4; int64(len(data)) > raw {
				t.Fatalf("n=%d %s: %d bytes, more than raw %d", n, name, len(data), raw)
			}
		}
	}
}

// TestEncodedSizes logs the measured sizes of a 10-million-leaf bitmap.
func TestEncodedSizes(t *testing.T) {
	const n = 10_000_000
	for name, b := range shapes(n) {
		var total int
		for off := int64(0); off < n; off += chunkLeaves {
			total += len(appendRange(nil, b, off, min(off+chunkLeaves, n)))
		}
		t.Logf("%-7s %9d bytes on the wire (raw %d)", name, total, rawSize(n))
		if name == "empty" || name == "full" || name == "prefix" {
			if total > 100 {
				t.Fatalf("%s: %d bytes, want run-length encoding", name, total)
			}
		}
	}
}

func TestBitmapMemory(t *testing.T) {
	const n = 10_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b := NewBitmap(n)
	runtime.ReadMemStats(&after)
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("10M-leaf bitmap: %d bytes allocated", got)
	if got < 1_250_000 || got > 1_300_000 {
		t.Fatalf("10M-leaf bitmap allocated %d bytes, want about 1.25 MB", got)
	}
	runtime.KeepAlive(b)
}

func TestDecodeRangeRefuses(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		n    int64
	}{
		{"empty", nil, 16},
		{"unknown mode", []byte{9}, 16},
		{"raw short", []byte{modeRaw, 0xff}, 16},
		{"raw long", []byte{modeRaw, 1, 2, 3}, 16},
		{"raw padding set", []byte{modeRaw, 0xff, 0x08}, 11},
		{"runs short", []byte{modeRuns, 3, 4}, 16},
		{"runs long", []byte{modeRuns, 10, 10}, 16},
		{"zero run", []byte{modeRuns, 0, 8, 0, 8}, 16},
		{"truncated run", []byte{modeRuns, 0x80}, 16},
		{"huge run", []byte{modeRuns, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 16},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := decodeRange(tc.data, NewBitmap(tc.n), 0, tc.n)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
		})
	}
}

func FuzzBitmapUnmarshal(f *testing.F) {
	for _, b := range shapes(200) {
		data, _ := b.MarshalBinary()
		f.Add(data)
	}
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x01, modeRuns, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Bitmap
		if err := b.UnmarshalBinary(data); err != nil {
			return
		}
		again, _ := b.MarshalBinary()
		var c Bitmap
		if err := c.UnmarshalBinary(again); err != nil || !c.Equal(&b) {
			t.Fatalf("re-encoding of an accepted bitmap does not round-trip: %v", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).withDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{MaxPeers: -1}, {FlushDelay: -1}, {HandshakeTimeout: -1}, {WriteTimeout: -1}, {MaxPending: -1}} {
		if err := c.withDefaults().Validate(); err == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
}
