package discovery

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/peer"
)

// Holder is a member holding a dataset, with the region it provides it in.
type Holder struct {
	peer.AddrInfo
	Region string
}

// FindAcross looks regions up in the order given (the caller's own region
// first) and stops once it has limit holders, so a dataset held in the
// caller's region costs one lookup and other regions are asked only when
// it is not. A peer found in several regions is listed once, under the
// first.
func (d *Discovery) FindAcross(ctx context.Context, root cid.Cid, regions []string, limit int) ([]Holder, error) {
	if limit <= 0 {
		limit = DefaultHolderLimit
	}
	var out []Holder
	seen := map[peer.ID]bool{}
	for _, region := range regions {
		found, err := d.FindHolders(ctx, root, region, limit-len(out))
		if err != nil {
			return out, err
		}
		for _, ai := range found {
			if !seen[ai.ID] {
				seen[ai.ID] = true
				out = append(out, Holder{AddrInfo: ai, Region: region})
			}
		}
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}
