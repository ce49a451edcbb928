package discovery_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/mesh/discovery"
	mh "github.com/multiformats/go-multihash"
)

func TestProviderKey(t *testing.T) {
	r1, r2 := testRoot("one"), testRoot("two")
	k := func(root cid.Cid, region string) cid.Cid {
		t.Helper()
		c, err := discovery.ProviderKey(root, region)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if k(r1, "A") != k(r1, "A") {
		t.Fatal("key not deterministic")
	}
	distinct := map[cid.Cid]string{}
	for _, tc := range []struct {
		root   cid.Cid
		region string
	}{{r1, "A"}, {r1, "B"}, {r2, "A"}, {r1, ""}, {r1, "A/B"}} {
		c := k(tc.root, tc.region)
		if prev, ok := distinct[c]; ok {
			t.Fatalf("%s/%q collides with %s", tc.root, tc.region, prev)
		}
		distinct[c] = tc.root.String() + "/" + tc.region
		if c.Prefix().Codec != cid.Raw || c.Prefix().MhType != mh.SHA2_256 || c.Version() != 1 {
			t.Fatalf("key %s: want a raw sha2-256 CIDv1", c)
		}
		if c == tc.root {
			t.Fatal("key equals the dataset root: block-level lookups would hit it")
		}
	}
	// Want records live under other keys than holder records.
	for _, region := range []string{"A", "B", ""} {
		w, err := discovery.WantKey(r1, region)
		if err != nil {
			t.Fatal(err)
		}
		if prev, ok := distinct[w]; ok || w == k(r1, region) {
			t.Fatalf("want key of %s/%q collides with %s", r1, region, prev)
		}
		distinct[w] = "want " + region
	}
	// The derivation is part of the protocol; pin one value.
	const golden = "bafkreia5uelwm32laqwfuh7jivz5v3q7ahmuldqjleeve77pj7vhfcjr7e"
	if got := k(r1, "eu-west").String(); got != golden {
		t.Fatalf("provider key changed (a protocol change): %s, want %s", got, golden)
	}
	for _, bad := range []struct {
		root   cid.Cid
		region string
	}{{cid.Undef, "A"}, {r1, strings.Repeat("x", discovery.MaxRegionLen+1)}, {r1, "\xff"}} {
		if _, err := discovery.ProviderKey(bad.root, bad.region); !errors.Is(err, discovery.ErrBadKey) {
			t.Fatalf("ProviderKey(%v, %q) = %v, want ErrBadKey", bad.root, bad.region, err)
		}
	}
}

// FuzzProviderKey: any region either is refused with ErrBadKey or yields a
// well-formed key distinct from the one for a different region.
func FuzzProviderKey(f *testing.F) {
	f.Add("A", "B")
	f.Add("", "/")
	f.Add("eu-west-1", "eu-west-1\x00")
	root := testRoot("fuzz")
	f.Fuzz(func(t *testing.T, a, b string) {
		ka, errA := discovery.ProviderKey(root, a)
		kb, errB := discovery.ProviderKey(root, b)
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, discovery.ErrBadKey) {
				t.Fatalf("unexpected error %v", err)
			}
		}
		if errA == nil && errB == nil && (ka == kb) != (a == b) {
			t.Fatalf("regions %q and %q: keys equal=%v", a, b, ka == kb)
		}
	})
}
