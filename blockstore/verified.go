package blockstore

import (
	"bytes"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
)

// Verified hashes data against c and returns it as a block that stores
// accept without hashing it again. Only this function makes such blocks, so
// a store that skips its own check for them still never keeps bytes that
// were not hashed against their CID in this process; it saves the second
// SHA-256 pass that a pin or a publish would otherwise pay for every block
// (about a third of a pin's CPU).
func Verified(c cid.Cid, data []byte) (blocks.Block, error) {
	if len(data) > MaxBlockSize {
		return nil, fmt.Errorf("block %s of %d bytes: %w (max %d)", c, len(data), ErrTooLarge, MaxBlockSize)
	}
	sum, err := c.Prefix().Sum(data)
	if err != nil {
		return nil, fmt.Errorf("hash block %s: %w", c, err)
	}
	if !bytes.Equal(sum.Hash(), c.Hash()) {
		return nil, fmt.Errorf("block %s: %w", c, ErrHashMismatch)
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		return nil, err
	}
	return verifiedBlock{b}, nil
}

// VerifiedBy is Verified for a caller that has just hashed data itself, as
// it arrived (the block exchange hashes each block while reading it, and a
// second pass would cost a pin a fifth of its CPU): sum is the CID it
// computed from data with c's prefix, in this process. It checks that sum
// names c and marks the block, without hashing data again.
func VerifiedBy(c, sum cid.Cid, data []byte) (blocks.Block, error) {
	if len(data) > MaxBlockSize {
		return nil, fmt.Errorf("block %s of %d bytes: %w (max %d)", c, len(data), ErrTooLarge, MaxBlockSize)
	}
	if !sum.Defined() || !bytes.Equal(sum.Hash(), c.Hash()) {
		return nil, fmt.Errorf("block %s: %w", c, ErrHashMismatch)
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		return nil, err
	}
	return verifiedBlock{b}, nil
}

// verifiedBlock marks a block Verified has hashed.
type verifiedBlock struct{ *blocks.BasicBlock }

// IsVerified reports whether b came from Verified, so its bytes match its CID.
func IsVerified(b blocks.Block) bool {
	_, ok := b.(verifiedBlock)
	return ok
}

// Hashed computes the CID of data under prefix and returns the block marked
// verified: the hash that names the block is the one that checks it.
func Hashed(prefix cid.Prefix, data []byte) (blocks.Block, error) {
	if len(data) > MaxBlockSize {
		return nil, fmt.Errorf("block of %d bytes: %w (max %d)", len(data), ErrTooLarge, MaxBlockSize)
	}
	c, err := prefix.Sum(data)
	if err != nil {
		return nil, fmt.Errorf("hash block: %w", err)
	}
	b, err := blocks.NewBlockWithCid(data, c)
	if err != nil {
		return nil, err
	}
	return verifiedBlock{b}, nil
}
