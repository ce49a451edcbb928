// Package host builds meshcache's libp2p host: a persistent Ed25519
// identity, QUIC-v1 first and TCP with Noise and Yamux as a fallback, an
// explicit resource manager, QUIC windows sized for cross-region links and
// raised UDP buffers. Nothing here knows about cluster membership: the
// caller passes a connection gater (see mesh/auth).
package host
