package policy

import (
	"math"
	"time"
)

// EWMA is an exponentially weighted moving average, for RTTs from pings and
// transfers. The zero value knows nothing; the first sample becomes the
// value, so one ping is enough to rank a peer.
type EWMA struct {
	v     float64
	known bool
}

// Update folds sample in with weight alpha: 1 (or more) keeps only the
// latest sample, small values smooth more, 0 (or less, or NaN) freezes the
// value after the first sample. NaN samples are ignored.
func (e *EWMA) Update(sample, alpha float64) {
	if math.IsNaN(sample) {
		return
	}
	switch {
	case !e.known || alpha >= 1:
		e.v, e.known = sample, true
	case alpha > 0:
		e.v += alpha * (sample - e.v)
	}
}

// UpdateDuration folds in a duration sample.
func (e *EWMA) UpdateDuration(sample time.Duration, alpha float64) {
	e.Update(float64(sample), alpha)
}

// Value is the average; 0 while Known is false.
func (e EWMA) Value() float64 { return e.v }

// Known reports whether a sample has been seen.
func (e EWMA) Known() bool { return e.known }

// Duration is the average as a duration (the unit UpdateDuration feeds),
// or 0 (unknown, for RankHolders) when no sample has been seen.
func (e EWMA) Duration() time.Duration {
	if !e.known {
		return 0
	}
	return max(time.Duration(math.Round(e.v)), 1)
}
