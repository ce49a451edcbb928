package catalog

import (
	"context"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"
)

// KeysChan streams keys as CIDv1 raw (the codec is not stored, as in boxo)
// from a goroutine that stops when the keys run out or ctx ends; the
// returned function reports whether the stream was cut short.
func KeysChan(ctx context.Context, keys []string) (<-chan cid.Cid, func() error, error) {
	ch := make(chan cid.Cid, 64)
	done := make(chan error, 1)
	go func() {
		defer close(ch)
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				done <- err
				return
			}
			select {
			case ch <- cid.NewCidV1(cid.Raw, multihash.Multihash(k)):
			case <-ctx.Done():
				done <- ctx.Err()
				return
			}
		}
		done <- nil
	}()
	var err error
	var got bool
	return ch, func() error {
		if !got {
			err, got = <-done, true
		}
		return err
	}, nil
}
