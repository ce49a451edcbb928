// Package auth closes the mesh to nodes that hold a cluster key.
//
// A connection gater sees only peer IDs and addresses, never a credential,
// and libp2p's pre-shared-key networks do not work with QUIC. So right
// after a connection is secured, the dialing side opens /meshcache/auth/1
// and both sides prove possession of a shared cluster key with HMAC-SHA256
// over a transcript that binds the protocol, both peer IDs (authenticated
// by the transport's handshake), a fresh nonce from each side and the key
// id. The key never crosses the wire; a transcript recorded on one
// connection is useless on another (other peer IDs, other nonces).
//
// The Authenticator keeps per-peer verdicts, wraps stream handlers so that
// unauthenticated peers are reset, disconnects peers that fail, and its
// Verdicts double as a connection gater refusing recently refused peers
// before they cost a handshake.
package auth
