// Package avail is the availability protocol (/meshcache/avail/1): a
// bounded set of peers that share a dataset exchange a compact bitmap of
// its leaves, in the dataset's fixed global leaf order (leaf i of
// dataset.Index), and then incremental HAVE / DONT_HAVE updates, so a node
// knows which of its near peers hold a leaf without one DHT record per
// block.
//
// One long-lived stream carries one (peer pair, dataset) session in both
// directions; whoever calls Connect opens it, and after a simultaneous
// open both sides keep the stream opened by the lower peer ID. Each side
// sends, in order:
//
//	HELLO     root, leaf count (must equal ours)
//	BITMAP    root, first leaf, leaf count, range   (repeated until every leaf is covered)
//	HAVE      root, ascending leaf indexes          (then any mix of these two,
//	DONT_HAVE root, ascending leaf indexes           batched over Config.FlushDelay)
//
// and REFUSE (root, reason) ends a session with a reason. Frames are a
// 4-byte big-endian length and a payload of at most MaxFrame (256 KiB);
// numbers are uvarints; HAVE indexes are delta-coded. A bitmap range is
// sent raw (one bit a leaf) or as alternating run lengths, whichever is
// smaller: a 10-million-leaf bitmap travels in ten frames of 1 Mi leaves,
// 40-50 bytes in all when empty, full or a prefix, about 10 KB for
// scattered spans, 1.25 MB when random.
//
// Every frame names the dataset root. A frame of the wrong root, a bitmap
// of the wrong length, a leaf index out of range, an oversized frame or an
// unknown type ends the session with a REFUSE naming the fault and an
// error wrapping ErrMalformed, never a panic. The peer's bitmap is sized
// by our own leaf count, so nothing a peer sends sizes an allocation
// beyond one frame. Memory is one bit per leaf per session (a
// 10-million-leaf dataset with 32 peers: 33 × 1.25 MB).
//
// The Service bounds the sessions per dataset (Config.MaxPeers, default
// 32, inbound and outbound together): a Connect past it fails with
// ErrPeerLimit, and an inbound session past it is refused with that
// reason. Inbound streams pass through Config.Wrap (mesh/auth's
// Authenticator.Wrap) and outbound ones through Config.Admit, so only
// cluster members take part.
package avail
