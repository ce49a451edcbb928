package policy

import (
	"math"
	"testing"
	"time"
)

func TestEWMA(t *testing.T) {
	tests := []struct {
		name    string
		samples []float64
		alpha   float64
		want    float64
		known   bool
	}{
		{"nothing", nil, 0.5, 0, false},
		{"first sample is the value", []float64{10}, 0.1, 10, true},
		{"half weight", []float64{10, 20}, 0.5, 15, true},
		{"smoothing", []float64{100, 0, 0}, 0.1, 81, true},
		{"alpha 1 keeps the last", []float64{5, 7, 9}, 1, 9, true},
		{"alpha above 1 keeps the last", []float64{5, 7}, 3, 7, true},
		{"alpha 0 freezes", []float64{5, 7}, 0, 5, true},
		{"negative alpha freezes", []float64{5, 7}, -1, 5, true},
		{"NaN alpha freezes", []float64{5, 7}, math.NaN(), 5, true},
		{"NaN sample ignored", []float64{math.NaN(), 4, math.NaN()}, 0.5, 4, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e EWMA
			for _, s := range tt.samples {
				e.Update(s, tt.alpha)
			}
			if math.Abs(e.Value()-tt.want) > 1e-9 || e.Known() != tt.known {
				t.Fatalf("Value %v Known %v, want %v %v", e.Value(), e.Known(), tt.want, tt.known)
			}
		})
	}
}

func TestEWMADuration(t *testing.T) {
	var e EWMA
	if e.Duration() != 0 {
		t.Fatalf("unknown EWMA has duration %v", e.Duration())
	}
	e.UpdateDuration(2*time.Millisecond, 0.2)
	e.UpdateDuration(4*time.Millisecond, 0.5)
	if got := e.Duration(); got != 3*time.Millisecond {
		t.Fatalf("Duration = %v, want 3ms", got)
	}
	var z EWMA
	z.UpdateDuration(0, 0.5) // a zero RTT must not read as "unknown"
	if z.Duration() <= 0 {
		t.Fatalf("known zero RTT reads as unknown")
	}
}
