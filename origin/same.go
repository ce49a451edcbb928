package origin

// SameLocation reports whether two origin URLs name the same location once
// both are in canonical form (scheme and host case, default ports, dot
// segments, trailing slashes, file://localhost); credentials do not count.
// A URL that does not parse is the same as nothing.
func SameLocation(a, b string) bool {
	la, err := parseLocation(a)
	if err != nil {
		return false
	}
	lb, err := parseLocation(b)
	if err != nil {
		return false
	}
	return la.String() == lb.String()
}
