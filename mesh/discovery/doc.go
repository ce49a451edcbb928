// Package discovery runs meshcache's private Kademlia DHT: which members
// exist, and which of them hold a dataset.
//
// The DHT is go-libp2p-kad-dht in server mode under meshcache's own
// protocol prefix (/meshcache/kad/1.0.0), so a node never speaks to the
// public IPFS DHT, and it has no bootstrap peers but the configured ones.
// Only members that passed cluster-key authentication (mesh/auth) take
// part: the routing-table and query filters admit only authenticated
// peers, and the host the DHT is given is wrapped so that its stream
// handler refuses, and its outgoing streams are never opened to, a peer
// whose handshake failed (see gate.go for why both are needed).
//
// Provider records are kept at dataset level, one key per (dataset root,
// region) (ProviderKey): a lookup for the caller's region returns in-region
// holders, and no single key collects every node's record. Records are
// short-lived (Config.RecordTTL) and Run re-provides the node's set on an
// interval; there is never a record per block.
package discovery
