package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// maxRangeSpecs bounds the work one Range header can ask for.
const maxRangeSpecs = 100

// byteRange is length bytes from start.
type byteRange struct{ start, length int64 }

// contentRange is the Content-Range value of r in a representation of size
// bytes.
func (r byteRange) contentRange(size int64) string {
	return fmt.Sprintf("bytes %d-%d/%d", r.start, r.start+r.length-1, size)
}

// parseRange parses a Range header (RFC 9110 §14.2) for a representation of
// size bytes. It returns the satisfiable ranges, clamped to the
// representation, in the order given. nil ranges with a nil error mean
// "ignore the header and send everything": a unit other than bytes, or a
// suffix range of an empty representation. A malformed header or one with
// no satisfiable range is a 416 *Error.
func parseRange(header string, size int64) ([]byteRange, error) {
	unit, set, ok := strings.Cut(strings.TrimSpace(header), "=")
	if !ok {
		return nil, rangeErr(header, size, "it has no '=' after the unit (expected bytes=START-END)")
	}
	if !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		return nil, nil
	}
	var out []byteRange
	specs, emptySuffix := 0, false
	for spec := range strings.SplitSeq(set, ",") {
		spec = strings.Trim(spec, " \t")
		if spec == "" {
			continue
		}
		if specs++; specs > maxRangeSpecs {
			return nil, rangeErr(header, size, fmt.Sprintf("it has more than %d ranges", maxRangeSpecs))
		}
		r, satisfiable, err := parseSpec(spec, size)
		if err != "" {
			return nil, rangeErr(header, size, err)
		}
		if satisfiable && r.length == 0 {
			emptySuffix = true
		} else if satisfiable {
			out = append(out, r)
		}
	}
	switch {
	case specs == 0:
		return nil, rangeErr(header, size, "it lists no range")
	case len(out) > 0:
		return out, nil
	case emptySuffix:
		return nil, nil
	}
	return nil, Errorf(http.StatusRequestedRangeNotSatisfiable, CodeRangeNotSatisfiable,
		"range %q is not satisfiable: the content is %d bytes long", truncate(header, 100), size)
}

// parseSpec parses one range-spec. A satisfiable suffix range of an empty
// representation comes back with length 0.
func parseSpec(spec string, size int64) (r byteRange, satisfiable bool, problem string) {
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return r, false, fmt.Sprintf("range %q has no '-'", truncate(spec, 40))
	}
	if first == "" {
		n, ok := parseDigits(last)
		if !ok {
			return r, false, fmt.Sprintf("suffix range %q is not -LENGTH", truncate(spec, 40))
		}
		if n == 0 {
			return r, false, ""
		}
		n = min(n, size)
		return byteRange{start: size - n, length: n}, true, ""
	}
	start, ok := parseDigits(first)
	if !ok {
		return r, false, fmt.Sprintf("range %q does not start with a byte offset", truncate(spec, 40))
	}
	end := int64(-1)
	if last != "" {
		if end, ok = parseDigits(last); !ok {
			return r, false, fmt.Sprintf("range %q does not end with a byte offset", truncate(spec, 40))
		}
		if end < start {
			return r, false, fmt.Sprintf("range %q ends before it starts", truncate(spec, 40))
		}
	}
	if start >= size {
		return r, false, ""
	}
	if end < 0 || end >= size {
		end = size - 1
	}
	return byteRange{start: start, length: end - start + 1}, true, ""
}

// parseDigits parses a non-empty run of ASCII digits; values past int64
// saturate (a range end of 99999999999999999999 means "to the end").
func parseDigits(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 1<<63 - 1, true
	}
	return n, true
}

func rangeErr(header string, size int64, problem string) *Error {
	return Errorf(http.StatusRequestedRangeNotSatisfiable, CodeRangeNotSatisfiable,
		"malformed Range header %q: %s (the content is %d bytes long)", truncate(header, 100), problem, size)
}
