package exchange

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// TestReadBlockMatchesPrefixSum checks that hashing a block a chunk at a
// time as it arrives accepts exactly the bytes cid.Prefix.Sum (the
// whole-block check it replaced) accepts, for every kind of CID a peer may
// ask for, and that a truncated block is a read error, not a bad block.
func TestReadBlockMatchesPrefixSum(t *testing.T) {
	sizes := []int{0, 1, 63, hashChunk - 1, hashChunk, hashChunk + 1, 1<<20 + 7}
	prefixes := []struct {
		name   string
		prefix cid.Prefix
	}{
		{"v1 sha2-256", cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}},
		{"v0", cid.Prefix{Version: 0, Codec: cid.DagProtobuf, MhType: mh.SHA2_256, MhLength: -1}},
		{"v1 sha2-512", cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: mh.SHA2_512, MhLength: -1}},
		{"v1 sha2-256 truncated", cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: 20}},
		{"v1 identity", cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.IDENTITY, MhLength: -1}},
	}
	for _, p := range prefixes {
		for _, size := range sizes {
			if p.prefix.MhType == mh.IDENTITY && size > 64 {
				continue // identity CIDs embed their bytes: only tiny ones exist
			}
			data := bytes.Repeat([]byte{0x5a, 0x17, 0x33}, size/3+1)[:size]
			want, err := p.prefix.Sum(data)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(p.name, func(t *testing.T) {
				// HalfReader hands out the bytes in uneven pieces, as a
				// transport does.
				r := bufio.NewReaderSize(iotest.HalfReader(bytes.NewReader(data)), 16<<10)
				blk, err := readBlock(r, want, size)
				if err != nil {
					t.Fatalf("%d bytes: %v", size, err)
				}
				if !bytes.Equal(blk.RawData(), data) || blk.Cid() != want {
					t.Fatalf("%d bytes: block differs", size)
				}
				if size == 0 {
					return
				}
				bad := bytes.Clone(data)
				bad[size-1] ^= 1
				_, err = readBlock(bufio.NewReader(bytes.NewReader(bad)), want, size)
				var be badBlockError
				if !errors.As(err, &be) || !errors.Is(err, ErrBadBlock) {
					t.Fatalf("%d bytes, last one flipped: %v, want a bad block", size, err)
				}
				_, err = readBlock(bufio.NewReader(bytes.NewReader(data[:size-1])), want, size)
				if errors.As(err, &be) || !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("%d bytes, one short: %v, want an unexpected EOF", size, err)
				}
			})
		}
	}
}

// TestReadBlockUnsupportedHash: a CID whose hash function this node
// cannot compute is a bad block once its bytes are read, as before.
func TestReadBlockUnsupportedHash(t *testing.T) {
	m, err := mh.Encode(make([]byte, 32), 0x1d01) // unregistered code
	if err != nil {
		t.Fatal(err)
	}
	want := cid.NewCidV1(cid.Raw, m)
	r := bufio.NewReader(bytes.NewReader(make([]byte, 100)))
	if _, err := readBlock(r, want, 100); !errors.Is(err, ErrBadBlock) {
		t.Fatalf("got %v, want ErrBadBlock", err)
	}
	if r.Buffered() != 0 {
		t.Fatal("the block's bytes were not consumed")
	}
}
