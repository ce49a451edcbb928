package api

import (
	"net/http"
	"strings"
)

// checkURLPath refuses request paths that are not clean: empty, "." or ".."
// segments (also when percent-encoded, since r.URL.Path is decoded) and
// control characters. A trailing slash is allowed.
func checkURLPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return Errorf(http.StatusBadRequest, CodeBadPath, "request path %q does not start with '/'", truncate(p, 200))
	}
	if reason := pathProblem(strings.TrimSuffix(p[1:], "/")); reason != "" {
		return Errorf(http.StatusBadRequest, CodeBadPath, "request path %q: %s", truncate(p, 200), reason)
	}
	return nil
}

// pathProblem says what is wrong with a slash-separated relative path, or
// returns "" when it is clean. The empty path is clean.
func pathProblem(p string) string {
	if p == "" {
		return ""
	}
	if strings.HasPrefix(p, "/") {
		return "it must be relative (no leading '/')"
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return "it has an empty segment ('//')"
		case ".", "..":
			return "it has a '" + seg + "' segment; paths in a dataset are plain names"
		}
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return "it contains a control character"
		}
	}
	return ""
}
