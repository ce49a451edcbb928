package disk

import (
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/blockstore/internal/catalog"
)

// HoldHash claims c's first-read hash as a concurrent hasher would; release
// ends the claim, having recorded the block verified when verified is set.
func (s *Store) HoldHash(c cid.Cid) (release func(verified bool)) {
	key := catalog.Key(c)
	done, _ := s.claimHash(key)
	return func(verified bool) {
		if verified {
			s.cat.Verified(key, time.Now())
		}
		done()
	}
}
