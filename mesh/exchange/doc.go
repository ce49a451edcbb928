// Package exchange is meshcache's block exchange protocol,
// /meshcache/blocks/1: a node asks a peer for a batch of CIDs on a fresh
// stream and the peer streams the blocks back in request order, each
// answered by a status (block or DONT_HAVE). Several batches run at once
// as separate streams, so one peer's link stays full and a slow block does
// not hold up the others (QUIC streams are independent; no head-of-line
// blocking between batches).
//
// Frames are length-prefixed with hard limits (MaxBatch CIDs of at most
// MaxCIDLen bytes per request, blocks of at most MaxBlockSize bytes), and
// a length is checked before anything is allocated for it. Every block is
// hashed against its CID on arrival; a peer that sends other bytes gets an
// error wrapping ErrBadBlock and naming it (a *PeerError), and the block is
// never delivered.
//
// The server answers only from a Getter (a local block store): nothing a
// peer sends can make it read an origin. Its Config takes a Wrap (mesh/auth's
// Authenticator.Wrap) so that only members are served, and it bounds
// requests in flight per peer and bytes in flight overall.
package exchange
