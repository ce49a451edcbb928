package policy

import (
	"cmp"
	"slices"
	"time"
)

// Labels place a node in the topology, as configured with --region, --zone
// and --rack.
type Labels struct {
	Region, Zone, Rack string
}

// Tier is how near a holder is by labels alone: the prior of the ranking.
type Tier int

const (
	TierRack   Tier = iota // same region, zone and rack
	TierZone               // same region and zone
	TierRegion             // same region
	TierRemote             // another region
)

func (t Tier) String() string {
	switch t {
	case TierRack:
		return "rack"
	case TierZone:
		return "zone"
	case TierRegion:
		return "region"
	case TierRemote:
		return "remote"
	}
	return "unknown"
}

// TierOf is how near a node labelled remote is to one labelled local. An
// empty region is a region like any other (a cluster without labels is one
// region), but an empty zone or rack is unknown and matches nothing: not
// knowing where two nodes sit does not put them in one rack.
func TierOf(local, remote Labels) Tier {
	switch {
	case local.Region != remote.Region:
		return TierRemote
	case local.Zone == "" || local.Zone != remote.Zone:
		return TierRegion
	case local.Rack == "" || local.Rack != remote.Rack:
		return TierZone
	}
	return TierRack
}

// Holder is a peer that holds (or is fetching, as the piece's owner) a
// block the local node wants.
type Holder struct {
	ID     string
	Labels Labels
	// RTT is the measured round trip (EWMA.Duration); 0 means unknown.
	RTT time.Duration
	// InFlight is the bytes requested from this holder and not yet
	// received, by this node.
	InFlight int64
}

// Spread says how load is spread over equally near holders.
type Spread int

const (
	// SpreadPowerOfTwo picks two equally near holders at random and takes
	// the one with fewer bytes in flight, then again for the rest. It keeps
	// many requesters with stale counts from herding onto one holder.
	SpreadPowerOfTwo Spread = iota
	// SpreadLeastInFlight orders equally near holders by bytes in flight,
	// ties in random order.
	SpreadLeastInFlight
	// SpreadNone keeps equally near holders in RTT order, ties by ID.
	SpreadNone
)

// Rand is the random source of the ranking; *math/rand/v2.Rand is one. A
// caller-supplied source keeps tests and the simulator reproducible.
type Rand interface {
	IntN(n int) int
}

// RankOptions tune RankHolders.
type RankOptions struct {
	// Local is the labels of the ranking node.
	Local Labels
	// Tolerance and Slack make holders of one tier "equally near" when
	// their RTT is within Tolerance (a fraction) plus Slack of the nearest
	// of the group: RTT samples are noisy, and chasing a 3% difference
	// would send every requester to the same holder.
	Tolerance float64
	Slack     time.Duration
	Spread    Spread
	// Rand breaks ties for SpreadPowerOfTwo and SpreadLeastInFlight; nil
	// disables randomness (least in flight, ties by ID).
	Rand Rand
}

// DefaultRankOptions are the daemon's settings: RTTs within 25% + 200µs are
// equal, and power of two choices spreads the load.
func DefaultRankOptions(local Labels, rnd Rand) RankOptions {
	return RankOptions{Local: local, Tolerance: 0.25, Slack: 200 * time.Microsecond, Spread: SpreadPowerOfTwo, Rand: rnd}
}

// RankHolders orders hs in place, nearest first; the order is also the
// failover order (on error or timeout the caller moves to the next, and to
// the origin after the last). Order: tier (rack < zone < region < remote)
// as the prior; inside a tier, known RTT ascending, then unknown RTT; among
// equally near holders (one tier, RTTs within the tolerance, or all
// unknown) the load is spread as opt.Spread says. It allocates nothing
// for up to 64 holders.
func RankHolders(hs []Holder, opt RankOptions) {
	sortHolders(hs, opt.Local)
	for start := 0; start < len(hs); {
		end := start + 1
		for end < len(hs) && opt.equallyNear(hs[start], hs[end]) {
			end++
		}
		opt.spread(hs[start:end])
		start = end
	}
}

// holderKey is a holder's sort key, computed once rather than in every
// comparison: comparing labels is what a sort of holders spends its time on.
type holderKey struct {
	tier Tier
	rtt  time.Duration
	i    int
}

// sortHolders sorts by (tier, RTT with unknown last, ID) through a key
// array on the stack for the usual few dozen holders, then applies the
// permutation in place.
func sortHolders(hs []Holder, local Labels) {
	var buf [64]holderKey
	keys := buf[:0]
	if len(hs) > len(buf) {
		keys = make([]holderKey, 0, len(hs))
	}
	for i, h := range hs {
		keys = append(keys, holderKey{tier: TierOf(local, h.Labels), rtt: rttKey(h.RTT), i: i})
	}
	slices.SortFunc(keys, func(a, b holderKey) int {
		if c := cmp.Compare(a.tier, b.tier); c != 0 {
			return c
		}
		if c := cmp.Compare(a.rtt, b.rtt); c != 0 {
			return c
		}
		if c := cmp.Compare(hs[a.i].ID, hs[b.i].ID); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	})
	// Position j takes hs[keys[j].i]; follow each cycle once.
	for j := range keys {
		if keys[j].i < 0 || keys[j].i == j {
			continue
		}
		saved, k := hs[j], j
		for {
			src := keys[k].i
			keys[k].i = -1
			if src == j {
				hs[k] = saved
				break
			}
			hs[k] = hs[src]
			k = src
		}
	}
}

// rttKey sorts unknown RTTs after every known one.
func rttKey(d time.Duration) time.Duration {
	if d <= 0 {
		return 1<<63 - 1
	}
	return d
}

// equallyNear reports whether b, sorted after a, is as near as a.
func (opt RankOptions) equallyNear(a, b Holder) bool {
	if TierOf(opt.Local, a.Labels) != TierOf(opt.Local, b.Labels) {
		return false
	}
	if a.RTT <= 0 || b.RTT <= 0 {
		return a.RTT <= 0 && b.RTT <= 0
	}
	limit := float64(a.RTT)*(1+opt.Tolerance) + float64(opt.Slack)
	return float64(b.RTT) <= limit
}

func (opt RankOptions) spread(g []Holder) {
	if len(g) < 2 || opt.Spread == SpreadNone {
		return
	}
	if opt.Rand == nil {
		slices.SortStableFunc(g, func(a, b Holder) int { return cmp.Compare(a.InFlight, b.InFlight) })
		return
	}
	switch opt.Spread {
	case SpreadLeastInFlight:
		for i := len(g) - 1; i > 0; i-- {
			j := opt.Rand.IntN(i + 1)
			g[i], g[j] = g[j], g[i]
		}
		slices.SortStableFunc(g, func(a, b Holder) int { return cmp.Compare(a.InFlight, b.InFlight) })
	default: // SpreadPowerOfTwo
		for pos := 0; pos < len(g)-1; pos++ {
			n := len(g) - pos
			i := pos + opt.Rand.IntN(n)
			j := pos + opt.Rand.IntN(n-1)
			if j >= i {
				j++
			}
			if g[j].InFlight < g[i].InFlight {
				i = j
			}
			g[pos], g[i] = g[i], g[pos]
		}
	}
}
