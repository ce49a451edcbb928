package dataset

import (
	"sync"

	uio "github.com/ipfs/boxo/ipld/unixfs/io"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"
)

// Profile names the import profile every dataset is built with.
const Profile = "unixfs-v1-2025"

// Settings of the unixfs-v1-2025 profile that Publish passes to boxo
// explicitly, so that a root CID never depends on boxo's process-wide
// globals having been set.
const (
	fileDAGWidth     = 1024
	hamtShardWidth   = 256
	hamtShardingSize = 256 << 10
)

var (
	// dagPBPrefix builds the CIDs of directory and file nodes.
	dagPBPrefix = cid.Prefix{Version: 1, Codec: cid.DagProtobuf, MhType: mh.SHA2_256, MhLength: -1}
	// rawPrefix builds the CIDs of leaves.
	rawPrefix = cid.Prefix{Version: 1, Codec: cid.Raw, MhType: mh.SHA2_256, MhLength: -1}
)

// applyOnce guards boxo's globals; they are read without synchronisation by
// every import, so they must be written once, before the first one.
var applyOnce sync.Once

// ApplyProfile sets boxo's process-wide UnixFS settings (chunk size, links
// per node, HAMT threshold and fanout, dag-pb field order) to the
// unixfs-v1-2025 profile, once per process. Call it from main and TestMain
// before any import; Publish also calls it as a safety net. Code that uses
// boxo's importer or MFS directly (not through Publish) relies on it.
func ApplyProfile() {
	applyOnce.Do(uio.UnixFS_v1_2025.ApplyGlobals)
}
