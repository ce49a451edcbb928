package catalog

import (
	"bytes"
	"fmt"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	"github.com/meshcache/meshcache/blockstore"
)

// Check verifies that data may be stored under id: not too large, and
// hashing to id's multihash (with id's hash function).
func Check(id cid.Cid, data []byte) error {
	if len(data) > blockstore.MaxBlockSize {
		return fmt.Errorf("block %s of %d bytes: %w (max %d)", id, len(data), blockstore.ErrTooLarge, blockstore.MaxBlockSize)
	}
	if !Matches(id, data) {
		return fmt.Errorf("block %s: %w", id, blockstore.ErrHashMismatch)
	}
	return nil
}

// CheckBlock is Check for a block, skipping the hash for blocks that
// blockstore.Verified made (their bytes were hashed against the CID already).
func CheckBlock(b blocks.Block) error {
	if blockstore.IsVerified(b) {
		return nil
	}
	return Check(b.Cid(), b.RawData())
}

// Matches reports whether data hashes to id's multihash.
func Matches(id cid.Cid, data []byte) bool {
	sum, err := id.Prefix().Sum(data)
	return err == nil && bytes.Equal(sum.Hash(), id.Hash())
}
