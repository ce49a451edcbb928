package policy

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestTierOf(t *testing.T) {
	local := Labels{Region: "eu", Zone: "eu-a", Rack: "r1"}
	tests := []struct {
		name          string
		local, remote Labels
		want          Tier
	}{
		{"same rack", local, Labels{"eu", "eu-a", "r1"}, TierRack},
		{"same zone", local, Labels{"eu", "eu-a", "r2"}, TierZone},
		{"same region", local, Labels{"eu", "eu-b", "r1"}, TierRegion},
		{"other region, same zone and rack names", local, Labels{"us", "eu-a", "r1"}, TierRemote},
		{"unlabelled cluster is one region", Labels{}, Labels{}, TierRegion},
		{"unknown zone matches nothing", Labels{Region: "eu"}, Labels{Region: "eu"}, TierRegion},
		{"unknown rack matches nothing", Labels{Region: "eu", Zone: "z"}, Labels{Region: "eu", Zone: "z"}, TierZone},
		{"labelled vs unlabelled region", local, Labels{}, TierRemote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TierOf(tt.local, tt.remote); got != tt.want {
				t.Fatalf("TierOf = %v, want %v", got, tt.want)
			}
		})
	}
}

func ids(hs []Holder) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func TestRankHolders(t *testing.T) {
	local := Labels{Region: "eu", Zone: "a", Rack: "1"}
	rack := Labels{"eu", "a", "1"}
	zone := Labels{"eu", "a", "2"}
	region := Labels{"eu", "b", "1"}
	remote := Labels{"us", "a", "1"}
	ms := time.Millisecond
	exact := RankOptions{Local: local, Spread: SpreadNone}
	tests := []struct {
		name string
		opt  RankOptions
		in   []Holder
		want []string
	}{
		{"tiers before RTT", exact, []Holder{
			{ID: "remote", Labels: remote, RTT: ms / 10},
			{ID: "region", Labels: region, RTT: 5 * ms},
			{ID: "zone", Labels: zone, RTT: 9 * ms},
			{ID: "rack", Labels: rack, RTT: 20 * ms},
		}, []string{"rack", "zone", "region", "remote"}},
		{"RTT inside a tier, unknown last", exact, []Holder{
			{ID: "unknown", Labels: region},
			{ID: "slow", Labels: region, RTT: 3 * ms},
			{ID: "fast", Labels: region, RTT: 1 * ms},
			{ID: "far", Labels: remote, RTT: ms},
		}, []string{"fast", "slow", "unknown", "far"}},
		{"ties by ID", exact, []Holder{
			{ID: "b", Labels: zone, RTT: ms}, {ID: "c", Labels: zone, RTT: ms}, {ID: "a", Labels: zone, RTT: ms},
		}, []string{"a", "b", "c"}},
		{"equally near: least in flight (no rand)", RankOptions{Local: local, Tolerance: 0.25, Spread: SpreadPowerOfTwo}, []Holder{
			{ID: "a", Labels: zone, RTT: 1000 * time.Microsecond, InFlight: 8 << 20},
			{ID: "b", Labels: zone, RTT: 1100 * time.Microsecond, InFlight: 1 << 20},
			{ID: "c", Labels: zone, RTT: 1200 * time.Microsecond, InFlight: 4 << 20},
			{ID: "d", Labels: zone, RTT: 1300 * time.Microsecond}, // beyond 25%: its own group
		}, []string{"b", "c", "a", "d"}},
		{"slack widens the band", RankOptions{Local: local, Slack: 500 * time.Microsecond, Spread: SpreadLeastInFlight}, []Holder{
			{ID: "a", Labels: zone, RTT: 100 * time.Microsecond, InFlight: 5},
			{ID: "b", Labels: zone, RTT: 550 * time.Microsecond, InFlight: 1},
			{ID: "c", Labels: zone, RTT: 700 * time.Microsecond},
		}, []string{"b", "a", "c"}},
		{"groups never cross tiers", RankOptions{Local: local, Tolerance: 10, Spread: SpreadLeastInFlight}, []Holder{
			{ID: "rack", Labels: rack, RTT: ms, InFlight: 100},
			{ID: "zone", Labels: zone, RTT: ms},
		}, []string{"rack", "zone"}},
		{"unknown RTTs form one group", RankOptions{Local: local, Spread: SpreadLeastInFlight}, []Holder{
			{ID: "x", Labels: region, InFlight: 3}, {ID: "y", Labels: region, InFlight: 1}, {ID: "z", Labels: region, RTT: ms, InFlight: 9},
		}, []string{"z", "y", "x"}},
		{"empty", exact, nil, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := slices.Clone(tt.in)
			RankHolders(hs, tt.opt)
			if got := ids(hs); !slices.Equal(got, tt.want) {
				t.Fatalf("order %q, want %q", got, tt.want)
			}
		})
	}
}

func randomHolders(rng *rand.Rand, n int) []Holder {
	regions, zones, racks := []string{"eu", "us"}, []string{"a", "b"}, []string{"1", "2", ""}
	hs := make([]Holder, n)
	for i := range hs {
		hs[i] = Holder{
			ID:       fmt.Sprintf("p%03d", i),
			Labels:   Labels{regions[rng.IntN(2)], zones[rng.IntN(2)], racks[rng.IntN(3)]},
			RTT:      time.Duration(rng.IntN(5)) * 300 * time.Microsecond, // 0 = unknown
			InFlight: int64(rng.IntN(4)) << 20,
		}
	}
	return hs
}

// TestRankHoldersProperties: for random holders and every spread, the
// result is a permutation, tiers never go back, inside a tier a known RTT
// never follows an unknown one nor one more than the band above it, and the
// same seed gives the same order.
func TestRankHoldersProperties(t *testing.T) {
	local := Labels{"eu", "a", "1"}
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 300 {
		in := randomHolders(rng, 1+rng.IntN(100)) // past 64 too: the heap path of sortHolders
		for _, spread := range []Spread{SpreadPowerOfTwo, SpreadLeastInFlight, SpreadNone} {
			seed := uint64(trial)
			opt := DefaultRankOptions(local, rand.New(rand.NewPCG(seed, 0)))
			opt.Spread = spread
			hs := slices.Clone(in)
			RankHolders(hs, opt)
			if got, want := slices.Sorted(slices.Values(ids(hs))), slices.Sorted(slices.Values(ids(in))); !slices.Equal(got, want) {
				t.Fatalf("not a permutation: %q", got)
			}
			for i := 1; i < len(hs); i++ {
				a, b := hs[i-1], hs[i]
				ta, tb := TierOf(local, a.Labels), TierOf(local, b.Labels)
				if ta > tb {
					t.Fatalf("trial %d: tier %v after %v", trial, tb, ta)
				}
				if ta == tb && a.RTT <= 0 && b.RTT > 0 {
					t.Fatalf("trial %d: known RTT after unknown", trial)
				}
				if ta == tb && a.RTT > 0 && b.RTT > 0 && float64(a.RTT) > float64(b.RTT)*(1+opt.Tolerance)+float64(opt.Slack) {
					t.Fatalf("trial %d: RTT %v before %v beyond the band", trial, a.RTT, b.RTT)
				}
			}
			again := slices.Clone(in)
			opt.Rand = rand.New(rand.NewPCG(seed, 0))
			RankHolders(again, opt)
			if !slices.Equal(ids(hs), ids(again)) {
				t.Fatalf("trial %d: same seed, different orders", trial)
			}
		}
	}
}

// TestPowerOfTwoSpreads: among equally near idle holders each comes first
// about equally often, and a strictly busiest holder never comes first.
func TestPowerOfTwoSpreads(t *testing.T) {
	const trials = 8000
	rng := rand.New(rand.NewPCG(7, 8))
	opt := DefaultRankOptions(Labels{Region: "eu"}, rng)
	base := []Holder{
		{ID: "a", Labels: Labels{Region: "eu"}, RTT: time.Millisecond},
		{ID: "b", Labels: Labels{Region: "eu"}, RTT: time.Millisecond},
		{ID: "c", Labels: Labels{Region: "eu"}, RTT: time.Millisecond},
		{ID: "d", Labels: Labels{Region: "eu"}, RTT: time.Millisecond},
	}
	first := map[string]int{}
	hs := make([]Holder, len(base))
	for range trials {
		copy(hs, base)
		RankHolders(hs, opt)
		first[hs[0].ID]++
	}
	for _, h := range base {
		if n := first[h.ID]; n < trials/4-300 || n > trials/4+300 {
			t.Errorf("%s first %d times of %d, want about %d", h.ID, n, trials, trials/4)
		}
	}
	base[2].InFlight = 64 << 20
	for range trials {
		copy(hs, base)
		RankHolders(hs, opt)
		if hs[0].ID == "c" {
			t.Fatalf("the busiest holder came first")
		}
	}
}

func TestRankHoldersAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	in := randomHolders(rng, 32)
	hs := make([]Holder, len(in))
	opt := DefaultRankOptions(Labels{"eu", "a", "1"}, rng)
	if n := testing.AllocsPerRun(100, func() {
		copy(hs, in)
		RankHolders(hs, opt)
	}); n != 0 {
		t.Fatalf("RankHolders allocates %v times per call", n)
	}
}
