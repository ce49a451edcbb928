package scenario

import (
	"errors"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"256MiB", 256 << 20, false},
		{"1 TiB", 1 << 40, false},
		{"1.5KiB", 1536, false},
		{"4096", 4096, false},
		{"10B", 10, false},
		{"2GB", 2e9, false},
		{"3KB", 3000, false},
		{"1TB", 1e12, false},
		{"1.5B", 0, true},
		{"1Mb", 0, true},
		{"MiB", 0, true},
		{"-1MiB", 0, true},
		{"", 0, true},
		{"1..2MiB", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want && !tt.wantErr {
				t.Fatalf("ParseSize(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := ParseSize("1Mb"); !errors.Is(err, ErrUnknownUnit) {
		t.Fatalf("ParseSize(1Mb) error %v, want ErrUnknownUnit", err)
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    Rate
		wantErr bool
	}{
		{"1Gbit/s", 125e6, false},
		{"400Mbit/s", 50e6, false},
		{"400 Mbit", 50e6, false},
		{"8Kbit/s", 1000, false},
		{"8bit/s", 1, false},
		{"100MB/s", 100e6, false},
		{"1GB", 1e9, false},
		{"5KB/s", 5000, false},
		{"2B/s", 2, false},
		{"1MiB/s", 1 << 20, false},
		{"1Gbps", 0, true},
		{"100", 0, true},
		{"-1Gbit/s", 0, true},
		{"fast", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if (err != nil) != tt.wantErr || !tt.wantErr && got != tt.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	for _, tt := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"1ms", time.Millisecond, false}, {"30s", 30 * time.Second, false}, {"0", 0, false},
		{"200us", 200 * time.Microsecond, false}, {"5", 0, true}, {"-1s", 0, true}, {"soon", 0, true},
	} {
		got, err := ParseDuration(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRateString(t *testing.T) {
	for _, tt := range []struct {
		r    Rate
		want string
	}{{125e6, "1Gbit/s"}, {50e6, "400Mbit/s"}, {1000, "8Kbit/s"}, {1, "8bit/s"}} {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("Rate(%v).String() = %q, want %q", float64(tt.r), got, tt.want)
		}
	}
}
