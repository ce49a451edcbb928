package exchange

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

func testCIDs(t testing.TB, n int) []cid.Cid {
	out := make([]cid.Cid, n)
	for i := range out {
		c, err := cid.V1Builder{Codec: cid.Raw, MhType: mh.SHA2_256}.Sum([]byte{byte(i), byte(i >> 8)})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = c
	}
	return out
}

func TestRequestRoundTrip(t *testing.T) {
	root := testCIDs(t, 1)[0]
	for _, n := range []int{1, 2, MaxBatch} {
		cids := testCIDs(t, n)
		leaves := make([]int64, n)
		for i := range leaves {
			leaves[i] = int64(i*7 + 3)
		}
		for _, req := range []request{{cids: cids}, {root: root, cids: cids, leaves: leaves}} {
			buf, err := appendRequest(nil, req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := readRequest(bufio.NewReader(bytes.NewReader(buf)), MaxBatch)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.cids) != n || got.root != req.root || !slices.Equal(got.leaves, req.leaves) {
				t.Fatalf("request %d CIDs root %v leaves %v back as %d CIDs root %v leaves %v", n, req.root, req.leaves, len(got.cids), got.root, got.leaves)
			}
			for i := range got.cids {
				if got.cids[i] != cids[i] {
					t.Fatalf("CID %d changed", i)
				}
			}
			if n > 1 {
				if _, err := readRequest(bufio.NewReader(bytes.NewReader(buf)), n-1); !errors.Is(err, errFrame) {
					t.Fatalf("request over the server's limit: %v", err)
				}
			}
			// Every truncation is an error, never a shorter request.
			for cut := range len(buf) * min(1, 2/n) {
				if _, err := readRequest(bufio.NewReader(bytes.NewReader(buf[:cut])), MaxBatch); err == nil {
					t.Fatalf("request cut at %d of %d bytes accepted", cut, len(buf))
				}
			}
		}
	}
	bad := []struct {
		name string
		req  request
	}{
		{"empty", request{}},
		{"oversized", request{cids: testCIDs(t, MaxBatch+1)}},
		{"leaves missing", request{root: root, cids: testCIDs(t, 2), leaves: []int64{1}}},
		{"negative leaf", request{root: root, cids: testCIDs(t, 1), leaves: []int64{-1}}},
		{"leaf too large", request{root: root, cids: testCIDs(t, 1), leaves: []int64{MaxLeaf + 1}}},
	}
	for _, tc := range bad {
		if _, err := appendRequest(nil, tc.req); err == nil {
			t.Errorf("%s request encoded", tc.name)
		}
	}
}

func TestAnswerHeaders(t *testing.T) {
	cases := []struct {
		in     []byte
		status byte
		size   int
		err    error
	}{
		{appendBlockHeader(nil, 0), statusBlock, 0, nil},
		{appendBlockHeader(nil, MaxBlockSize), statusBlock, MaxBlockSize, nil},
		{appendBlockHeader(nil, MaxBlockSize+1), 0, 0, errFrame},
		{[]byte{statusDontHave}, statusDontHave, 0, nil},
		{[]byte{statusBusy}, statusBusy, 0, nil},
		{[]byte{statusPending}, statusPending, 0, nil},
		{[]byte{0}, 0, 0, errFrame},
		{[]byte{5}, 0, 0, errFrame},
		{nil, 0, 0, io.ErrUnexpectedEOF},
		{[]byte{statusBlock}, 0, 0, io.ErrUnexpectedEOF},
	}
	for i, tc := range cases {
		st, size, err := readAnswer(bufio.NewReader(bytes.NewReader(tc.in)))
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("case %d: err %v, want %v", i, err, tc.err)
			}
			continue
		}
		if err != nil || st != tc.status || size != tc.size {
			t.Errorf("case %d: %d %d %v", i, st, size, err)
		}
	}
}

// FuzzReadRequest: no input makes the request decoder panic or return
// more than the limit.
func FuzzReadRequest(f *testing.F) {
	ok, _ := appendRequest(nil, request{cids: testCIDs(f, 3)})
	f.Add(ok)
	withRoot, _ := appendRequest(nil, request{root: testCIDs(f, 1)[0], cids: testCIDs(f, 2), leaves: []int64{0, 1 << 30}})
	f.Add(withRoot)
	f.Add([]byte{0})
	f.Add([]byte{1, 200})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := readRequest(bufio.NewReader(bytes.NewReader(data)), 8)
		if err == nil && (len(req.cids) < 1 || len(req.cids) > 8) {
			t.Fatalf("%d CIDs accepted", len(req.cids))
		}
		if err == nil {
			back, err := appendRequest(nil, req)
			if err != nil || !bytes.HasPrefix(data, back) {
				t.Fatalf("decoded request does not re-encode to its input: %v", err)
			}
		}
	})
}

// FuzzReadAnswer: no input makes the answer decoder panic or report a size
// beyond MaxBlockSize.
func FuzzReadAnswer(f *testing.F) {
	f.Add(appendBlockHeader(nil, 1<<20))
	f.Add([]byte{statusDontHave})
	f.Add([]byte{statusBlock, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for range 64 {
			st, size, err := readAnswer(r)
			if err != nil {
				return
			}
			if size < 0 || size > MaxBlockSize || (st != statusBlock && size != 0) {
				t.Fatalf("status %d size %d accepted", st, size)
			}
			if _, err := r.Discard(size); err != nil {
				return
			}
		}
	})
}
