package discovery

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// keyPrefix versions the provider-key derivation: nodes deriving keys
// differently would never find each other's records, so a change needs a
// new version string.
const (
	keyPrefix     = "meshcache/provide/v1/"
	wantKeyPrefix = "meshcache/want/v1/"
)

// MaxRegionLen bounds a region label.
const MaxRegionLen = 128

// ErrBadKey reports a dataset root or region that cannot name a record.
var ErrBadKey = errors.New("discovery: bad provider key")

// ProviderKey is the DHT key under which holders of dataset root in region
// are recorded: a raw CIDv1 of sha256("meshcache/provide/v1/" + root + "/"
// + region). The root's string form never contains "/", so distinct
// (root, region) pairs never share a key.
func ProviderKey(root cid.Cid, region string) (cid.Cid, error) {
	return recordKey(keyPrefix, root, region)
}

// WantKey is the DHT key under which the members of region pinning dataset
// root are recorded (sha256 of "meshcache/want/v1/" + root + "/" + region):
// the members among whom the region's origin reads of the dataset are
// shared out.
func WantKey(root cid.Cid, region string) (cid.Cid, error) {
	return recordKey(wantKeyPrefix, root, region)
}

func recordKey(prefix string, root cid.Cid, region string) (cid.Cid, error) {
	if !root.Defined() {
		return cid.Undef, fmt.Errorf("%w: undefined dataset root", ErrBadKey)
	}
	if len(region) > MaxRegionLen || !utf8.ValidString(region) {
		return cid.Undef, fmt.Errorf("%w: region %q: want valid UTF-8 of at most %d bytes", ErrBadKey, region, MaxRegionLen)
	}
	sum := sha256.Sum256([]byte(prefix + root.String() + "/" + region))
	digest, err := mh.Encode(sum[:], mh.SHA2_256)
	if err != nil {
		return cid.Undef, fmt.Errorf("encode provider key: %w", err)
	}
	return cid.NewCidV1(cid.Raw, digest), nil
}
