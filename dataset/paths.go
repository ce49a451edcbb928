package dataset

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// checkPath reports whether p is a valid dataset file path: slash-separated,
// relative, no empty, "." or ".." components, valid UTF-8. "" is valid only
// as the single file of a single-file dataset, which callers check.
func checkPath(p string) error {
	if p == "" {
		return nil
	}
	if !utf8.ValidString(p) {
		return fmt.Errorf("path %q is not valid UTF-8", p)
	}
	for c := range strings.SplitSeq(p, "/") {
		switch c {
		case "", ".", "..":
			return fmt.Errorf("path %q has an empty, \".\" or \"..\" component", p)
		}
		if strings.IndexByte(c, 0) >= 0 {
			return fmt.Errorf("path %q contains a NUL byte", p)
		}
	}
	return nil
}

// cleanPath turns a path as a user gives it ("/a/b/", "a//b", "") into the
// dataset's form ("a/b", "" for the root).
func cleanPath(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

// parentDir returns the directory part of p ("" for a top-level entry).
func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

// baseName returns the last component of p.
func baseName(p string) string {
	return p[strings.LastIndexByte(p, '/')+1:]
}

// commonDirDepth is the number of leading directory components the two
// directories a and b ("" is the root) share.
func commonDirDepth(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// dirComponents splits a directory path into components; the root has none.
func dirComponents(dir string) []string {
	if dir == "" {
		return nil
	}
	return strings.Split(dir, "/")
}
