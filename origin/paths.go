package origin

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// MetaDir is the folder under an origin's prefix where meshcache keeps its
// own files (dataset metadata as CAR files). Listings leave out every folder
// of this name, at any depth: a sub-folder published on its own has one too.
const MetaDir = ".meshcache"

// checkRel validates an object path: relative, slash-separated, valid
// UTF-8, no empty, "." or ".." segment. Paths come from clients of the
// daemon, so this is what keeps a read inside the prefix.
func checkRel(rel string) error {
	if rel == "" || !utf8.ValidString(rel) || strings.ContainsRune(rel, 0) {
		return fmt.Errorf("path %q is empty or not valid UTF-8", rel)
	}
	for seg := range strings.SplitSeq(rel, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("path %q must be relative and slash-separated, without empty, . or .. segments", rel)
		}
	}
	return nil
}

// hidden reports whether a listing leaves rel out.
func hidden(rel string) bool {
	for seg := range strings.SplitSeq(rel, "/") {
		if seg == MetaDir {
			return true
		}
	}
	return false
}

// ParseFileList reads a file list for WithFiles (the CLI's --files FILE):
// one relative path per line; blank lines and lines starting with # are
// skipped; surrounding spaces are kept, since file names may have them,
// but a trailing \r is dropped.
func ParseFileList(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := checkRel(line); err != nil {
			return nil, fmt.Errorf("file list line %d: %w", n, err)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read file list: %w", err)
	}
	return out, nil
}
