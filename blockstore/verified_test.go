package blockstore_test

import (
	"errors"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/blockstore"
)

var rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}

func TestVerified(t *testing.T) {
	data := []byte("a block's bytes")
	c, err := rawPrefix.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		c        cid.Cid
		data     []byte
		wantErr  error
		verified bool
	}{
		{"matching bytes", c, data, nil, true},
		{"other bytes", c, []byte("other bytes"), blockstore.ErrHashMismatch, false},
		{"too large", c, make([]byte, blockstore.MaxBlockSize+1), blockstore.ErrTooLarge, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := blockstore.Verified(tt.c, tt.data)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Verified: %v, want %v", err, tt.wantErr)
			}
			if err == nil && (!blockstore.IsVerified(b) || !b.Cid().Equals(tt.c)) {
				t.Fatalf("block %v verified=%v", b.Cid(), blockstore.IsVerified(b))
			}
		})
	}
}

func TestHashed(t *testing.T) {
	data := []byte("hashed once")
	b, err := blockstore.Hashed(rawPrefix, data)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rawPrefix.Sum(data)
	if !b.Cid().Equals(want) || !blockstore.IsVerified(b) {
		t.Fatalf("Hashed gave %s (verified %v), want %s verified", b.Cid(), blockstore.IsVerified(b), want)
	}
	// A block made any other way is not trusted, even with a correct CID.
	plain, _ := blocks.NewBlockWithCid(data, want)
	if blockstore.IsVerified(plain) {
		t.Fatal("a plain block counts as verified")
	}
}

// TestVerifiedBy: a caller's own sum is taken when it names the CID, and
// refused otherwise (nothing is hashed again either way).
func TestVerifiedBy(t *testing.T) {
	data := []byte("a block's bytes")
	c, err := rawPrefix.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rawPrefix.Sum([]byte("other bytes"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sum     cid.Cid
		data    []byte
		wantErr error
	}{
		{"matching sum", c, data, nil},
		{"other sum", other, data, blockstore.ErrHashMismatch},
		{"no sum", cid.Undef, data, blockstore.ErrHashMismatch},
		{"too large", c, make([]byte, blockstore.MaxBlockSize+1), blockstore.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := blockstore.VerifiedBy(c, tt.sum, tt.data)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("VerifiedBy: %v, want %v", err, tt.wantErr)
			}
			if err == nil && (!blockstore.IsVerified(b) || !b.Cid().Equals(c)) {
				t.Fatalf("block %v verified=%v", b.Cid(), blockstore.IsVerified(b))
			}
		})
	}
}
