package origin

import (
	"errors"
	"path/filepath"
)

// allowHint tells the operator how to let an origin in.
const allowHint = "start the daemon with --allow-origin URL_PREFIX"

// parseAllowEntry parses one --allow-origin prefix.
func parseAllowEntry(raw string) (location, error) {
	l, err := parseLocation(raw)
	if err != nil {
		return location{}, err
	}
	if l.user != nil {
		return location{}, errors.New("an allowed origin prefix carries no credentials")
	}
	return l, nil
}

// allowlist decides which origins may be opened.
type allowlist []location

// allows reports whether l (already canonical; for file://, its path
// resolved through symlinks) lies under an entry.
func (a allowlist) allows(l location) bool {
	for _, e := range a {
		if e.scheme != l.scheme || e.host != l.host {
			continue
		}
		root := e.path
		if e.scheme == "file" {
			root = resolveOrClean(root)
		}
		if within(l.path, root) {
			return true
		}
	}
	return false
}

// resolveOrClean resolves symlinks in an allowed root so that both sides of
// the comparison are real paths; a root that does not exist (yet) is
// compared as written.
func resolveOrClean(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return filepath.ToSlash(r)
	}
	return p
}

// refusal is the error for an origin outside the allowlist.
func (a allowlist) refusal(l location) error {
	detail := "not on the daemon's allowlist; " + allowHint + " (for example --allow-origin " + l.String() + ")"
	if len(a) == 0 {
		detail = "no origin is allowed; " + allowHint + " (for example --allow-origin " + l.String() + ")"
	}
	return &Error{Kind: ErrNotAllowed, Origin: l.String(), Op: "open", Detail: detail}
}
