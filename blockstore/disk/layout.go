package disk

import (
	"encoding/base32"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/multiformats/go-multihash"
)

// On-disk layout under Config.Dir, as IPFS flatfs lays out blocks:
//
//	blocks/<SH>/<NAME>.data   one file per block; NAME is the unpadded
//	                          upper-case base32 of the multihash and SH its
//	                          next-to-last two characters (up to 1024 shards)
//	blocks/<SH>/.<NAME>.<random>.tmp
//	                          a block being written; removed at start
//	quarantine/<NAME>.<time>.data
//	                          blocks that failed verification, for inspection
//	pins.json                 the pinned roots and their reserved sizes
const (
	blocksDirName     = "blocks"
	quarantineDirName = "quarantine"
	pinsFileName      = "pins.json"
	blockExt          = ".data"
	tempExt           = ".tmp"
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// blockName is the file name (without extension) of a key.
func blockName(key string) string { return b32.EncodeToString([]byte(key)) }

// shardOf is the next-to-last two characters of a block name.
func shardOf(name string) string {
	if len(name) < 3 {
		return "__"
	}
	return name[len(name)-3 : len(name)-1]
}

func (s *Store) shardDir(name string) string { return filepath.Join(s.blocksDir, shardOf(name)) }

func (s *Store) blockPath(key string) string {
	name := blockName(key)
	return filepath.Join(s.shardDir(name), name+blockExt)
}

func (s *Store) tempPath(key string) string {
	name := blockName(key)
	return filepath.Join(s.shardDir(name), fmt.Sprintf(".%s.%016x%s", name, rand.Uint64(), tempExt))
}

// parseBlockFile returns the key a block file name stands for.
func parseBlockFile(file string) (string, bool) {
	name, ok := strings.CutSuffix(file, blockExt)
	if !ok {
		return "", false
	}
	raw, err := b32.DecodeString(name)
	if err != nil {
		return "", false
	}
	if _, err := multihash.Cast(raw); err != nil {
		return "", false
	}
	return string(raw), true
}

func isTemp(file string) bool { return strings.HasPrefix(file, ".") }
