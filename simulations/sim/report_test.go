package sim

import "testing"

func TestQuantilesOf(t *testing.T) {
	cases := []struct {
		in   []float64
		want Quantiles
	}{
		{nil, Quantiles{}},
		{[]float64{3}, Quantiles{P50: 3, P99: 3, Max: 3}},
		{[]float64{5, 1, 4, 2, 3}, Quantiles{P50: 3, P99: 5, Max: 5}},
		{[]float64{1, 2, 3, 4}, Quantiles{P50: 2, P99: 4, Max: 4}},
	}
	for _, tc := range cases {
		if got := QuantilesOf(tc.in); got != tc.want {
			t.Errorf("QuantilesOf(%v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}
