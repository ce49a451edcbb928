// Package baseline is what meshcache's block exchange is measured against:
// raw quic-go v0.64 streams on loopback, and a range protocol (Serve,
// Fetch) that any stream (quic-go's or libp2p's) can carry: the client
// asks for a range of blocks and the server writes them back to back, with
// no framing and no verification beyond an optional SHA-256 of each block
// on arrival. Shared by the bench/mesh command and mesh/exchange's Go
// benchmarks, so both compare against the same thing.
package baseline
