package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ipfs/go-cid"
)

// maxCIDLen bounds the work a request can ask of the CID decoder; real CIDs
// are under 100 characters.
const maxCIDLen = 256

// CID is a cid.Cid that travels in JSON as its canonical string: CIDv1 in
// base32 (bafy…), whatever version or base it was given in. Convert with
// api.CID(c) and cid.Cid(x).
type CID cid.Cid

// String returns the canonical form, "" for the zero CID.
func (c CID) String() string { return Canonical(cid.Cid(c)) }

// IsZero reports whether c is undefined (used by json's omitzero).
func (c CID) IsZero() bool { return !cid.Cid(c).Defined() }

// MarshalJSON writes the canonical string, or null for the zero CID.
func (c CID) MarshalJSON() ([]byte, error) {
	if c.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(c.String())
}

// UnmarshalJSON parses a CID string (keeping it as CIDv1); a malformed one
// is a 400 *Error.
func (c *CID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*c = CID{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return Errorf(http.StatusBadRequest, CodeBadCID, "a CID must be a JSON string, got %s", truncate(string(b), 80))
	}
	parsed, err := ParseCID(s)
	if err != nil {
		return err
	}
	*c = CID(toV1(parsed))
	return nil
}

// Canonical returns c as CIDv1 in base32, the form every response uses.
func Canonical(c cid.Cid) string {
	if !c.Defined() {
		return ""
	}
	return toV1(c).String()
}

func toV1(c cid.Cid) cid.Cid {
	if c.Version() == 0 {
		return cid.NewCidV1(c.Type(), c.Hash())
	}
	return c
}

// ParseCID parses a CID given by a user. A malformed one gives a 400 *Error
// that says what is wrong with it.
func ParseCID(s string) (cid.Cid, error) {
	if reason := cidShapeProblem(s); reason != "" {
		return cid.Undef, badCID(s, reason)
	}
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, badCID(s, decodeReason(s, err))
	}
	return c, nil
}

// cidShapeProblem finds the mistakes people make before asking the decoder,
// whose messages ("selected encoding not supported") say little.
func cidShapeProblem(s string) string {
	switch {
	case s == "":
		return "it is empty"
	case len(s) > maxCIDLen:
		return fmt.Sprintf("it is %d characters long; CIDs are under %d", len(s), maxCIDLen)
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Sprintf("character %d is %q; CIDs are letters and digits only", i+1, r)
		}
	}
	switch {
	case strings.HasPrefix(s, "Qm") && len(s) != 46:
		return fmt.Sprintf("a CIDv0 (Qm…) has 46 characters, this one has %d", len(s))
	case s[0] == 'b' && strings.ToLower(s) != s:
		return "it has upper-case letters, but a base32 CID (starting with 'b') is all lower case"
	}
	return ""
}

// pathCID parses the {cid} of a route as CIDv1, so the backend sees one
// form of each CID whatever the client sent.
func pathCID(r *http.Request) (cid.Cid, error) {
	c, err := ParseCID(r.PathValue("cid"))
	if err != nil {
		return cid.Undef, err
	}
	return toV1(c), nil
}

func decodeReason(s string, err error) string {
	msg := err.Error()
	for strings.HasPrefix(msg, "invalid cid: ") {
		msg = strings.TrimPrefix(msg, "invalid cid: ")
	}
	switch {
	case strings.Contains(msg, "selected encoding not supported"):
		return fmt.Sprintf("its first character %q names no multibase encoding (CIDv1 in base32 starts with 'b')", s[0])
	case strings.Contains(msg, "length greater than remaining"), strings.Contains(msg, "too short"):
		return "it is truncated (the hash is shorter than its header says)"
	case strings.Contains(msg, "illegal base32"):
		return "it is not valid base32 (base32 uses a-z and 2-7): " + msg
	}
	return "it does not decode to a CID (" + msg + ")"
}

func badCID(s, reason string) *Error {
	return Errorf(http.StatusBadRequest, CodeBadCID,
		"malformed CID %q: %s; a CID looks like bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
		truncate(s, 80), reason)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
