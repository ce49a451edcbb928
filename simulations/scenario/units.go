package scenario

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrUnknownUnit is returned for a size or rate whose unit is not one of
// the documented ones.
var ErrUnknownUnit = errors.New("unknown unit")

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid scenario")

// Rate is a bandwidth in bytes per second.
type Rate float64

// Bits is the rate in bits per second.
func (r Rate) Bits() float64 { return float64(r) * 8 }

// String prints the rate in the largest bit unit that keeps it above 1.
func (r Rate) String() string {
	b := r.Bits()
	for _, u := range []struct {
		name string
		v    float64
	}{{"Gbit/s", 1e9}, {"Mbit/s", 1e6}, {"Kbit/s", 1e3}} {
		if b >= u.v {
			return strconv.FormatFloat(b/u.v, 'g', 6, 64) + u.name
		}
	}
	return strconv.FormatFloat(b, 'g', 6, 64) + "bit/s"
}

var sizeUnits = map[string]float64{
	"": 1, "B": 1,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
	"KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
}

// rateUnits are per second; the "/s" suffix is optional.
var rateUnits = map[string]float64{
	"bit": 1.0 / 8, "Kbit": 1e3 / 8, "kbit": 1e3 / 8, "Mbit": 1e6 / 8, "Gbit": 1e9 / 8, "Tbit": 1e12 / 8,
	"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
}

// splitNumber splits "1.5 GiB" into 1.5 and "GiB".
func splitNumber(s string) (float64, string, error) {
	s = strings.TrimSpace(s)
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return 0, "", errors.New("no number")
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, "", fmt.Errorf("bad number %q", s[:i])
	}
	return v, strings.TrimSpace(s[i:]), nil
}

// ParseSize parses a size such as "256MiB", "1 TiB" or "4096" (bytes).
func ParseSize(s string) (int64, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	m, ok := sizeUnits[unit]
	if !ok {
		return 0, ErrUnknownUnit
	}
	b := v * m
	if b < 0 {
		return 0, errors.New("negative")
	}
	if b >= math.MaxInt64 {
		return 0, errors.New("too large")
	}
	if b != math.Trunc(b) {
		return 0, errors.New("not a whole number of bytes")
	}
	return int64(b), nil
}

// ParseRate parses a rate such as "1Gbit/s", "400 Mbit/s", "100MB/s" or
// "10Gbit" into bytes per second.
func ParseRate(s string) (Rate, error) {
	v, unit, err := splitNumber(s)
	if err != nil {
		return 0, err
	}
	unit = strings.TrimSuffix(unit, "/s")
	m, ok := rateUnits[unit]
	if !ok {
		return 0, ErrUnknownUnit
	}
	if v < 0 {
		return 0, errors.New("negative")
	}
	return Rate(v * m), nil
}

// ParseDuration parses a Go duration ("1ms", "30s"); a bare "0" is zero.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not a duration (use Go syntax: 1ms, 30s, 2m)")
	}
	if d < 0 {
		return 0, errors.New("negative")
	}
	return d, nil
}
