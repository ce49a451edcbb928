package origin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
)

// location is a parsed, canonical origin URL.
type location struct {
	// scheme is "file", "http", "https" or "s3".
	scheme string
	// host: for http(s) lower-case "host:port" with the port always
	// explicit; for s3 the bucket; for file "".
	host string
	// path is clean, absolute and slash-separated, without a trailing slash
	// except for the root "/". For s3 it is "/" + the key prefix.
	path string
	// user is HTTP basic-auth userinfo; it never leaves this struct.
	user *url.Userinfo
}

var defaultPorts = map[string]string{"http": "80", "https": "443"}

// parseLocation parses and canonicalises an origin URL. Its errors never
// quote the URL, which may hold credentials.
func parseLocation(raw string) (location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return location{}, fmt.Errorf("not a URL: %v", unwrapURLError(err))
	}
	l := location{scheme: strings.ToLower(u.Scheme), user: u.User}
	if u.Opaque != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return location{}, errors.New("an origin URL has no query or fragment")
	}
	switch l.scheme {
	case "file":
		if u.User != nil || (u.Host != "" && u.Host != "localhost") {
			return location{}, errors.New("a file:// URL names a local path: file:///path")
		}
	case "http", "https":
		if u.Hostname() == "" {
			return location{}, errors.New("an http(s) URL needs a host")
		}
		port := u.Port()
		if port == "" {
			port = defaultPorts[l.scheme]
		}
		l.host = net.JoinHostPort(strings.ToLower(u.Hostname()), port)
	case "s3":
		if u.User != nil {
			return location{}, errors.New("an s3:// URL carries no credentials: configure them (S3 access key, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
		}
		if u.Host == "" || u.Port() != "" {
			return location{}, errors.New("an s3 URL is s3://bucket/prefix")
		}
		l.host = u.Host
	default:
		return location{}, fmt.Errorf("unsupported scheme %q (want file, http, https or s3)", u.Scheme)
	}
	l.path = cleanURLPath(u.Path)
	return l, nil
}

// cleanURLPath resolves dot segments so that matching and requests use the
// same path ("/a/../b" is "/b", as a server would read it).
func cleanURLPath(p string) string {
	if p == "" {
		return "/"
	}
	return path.Clean("/" + p)
}

// unwrapURLError drops url.Error's quoting of the whole URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// String is the canonical URL without credentials; default ports are left
// out, and the path is escaped.
func (l location) String() string {
	switch l.scheme {
	case "file":
		return (&url.URL{Scheme: "file", Path: l.path}).String()
	case "s3":
		u := url.URL{Scheme: "s3", Host: l.host}
		if l.path != "/" {
			u.Path = l.path
		}
		return u.String()
	}
	host, port, _ := net.SplitHostPort(l.host)
	if port != defaultPorts[l.scheme] {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return (&url.URL{Scheme: l.scheme, Host: host, Path: l.path}).String()
}

// server identifies the machine behind an origin, for the concurrency
// limit: every prefix on one HTTP server or S3 bucket shares it.
func (l location) server() string {
	if l.scheme == "file" {
		return l.String()
	}
	return l.scheme + "://" + l.host
}

// within reports whether p is root or below it, on segment boundaries
// (/data allows /data/x, not /database). Both are clean and absolute.
func within(p, root string) bool {
	return root == "/" || p == root || strings.HasPrefix(p, root+"/")
}

// keyPrefix is the S3 key prefix ("" or "dir/sub/").
func (l location) keyPrefix() string {
	if l.path == "/" {
		return ""
	}
	return strings.TrimPrefix(l.path, "/") + "/"
}
