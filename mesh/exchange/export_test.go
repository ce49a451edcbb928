package exchange

// PeerLimitEntries exposes how many peers the client's per-peer limit
// tracks, so tests can check entries do not outlive their batches.
func PeerLimitEntries(c *Client) int { return c.limit.size() }
