package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// maxErrorBody bounds how much of an error response the client reads.
const maxErrorBody = 64 << 10

// Client talks to the daemon's API. Its zero value works: it connects to
// $MESHCACHE_SOCKET, else DefaultSocketPath() (or, for a user who runs no
// daemon, the system daemon's socket). A Client is safe for concurrent use
// and must not be copied after first use.
type Client struct {
	// SocketPath overrides the socket to connect to.
	SocketPath string
	// HTTPClient overrides the whole transport (for example to reach the
	// API over TCP); SocketPath is then unused.
	HTTPClient *http.Client

	once sync.Once
	path string
	hc   *http.Client
}

// ConnectError is returned when the daemon's socket cannot be reached.
type ConnectError struct {
	Path string
	Err  error
}

func (e *ConnectError) Error() string {
	if errors.Is(e.Err, syscall.EACCES) {
		return fmt.Sprintf("cannot connect to meshcache daemon at %s: permission denied; %s", e.Path, socketGroupHint(e.Path))
	}
	return fmt.Sprintf("cannot connect to meshcache daemon at %s: is it running? (start it with `meshcache daemon`)", e.Path)
}

func (e *ConnectError) Unwrap() error { return e.Err }

// socketGroupHint names the group that may use the socket.
func socketGroupHint(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "you cannot reach the socket's folder"
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "the socket is not open to you"
	}
	name := strconv.FormatUint(uint64(sys.Gid), 10)
	if g, err := user.LookupGroupId(name); err == nil {
		name = "'" + g.Name + "' (gid " + name + ")"
	}
	return "the socket is open to group " + name + ": ask an administrator to add you to it"
}

func (c *Client) init() {
	c.once.Do(func() {
		c.path = c.SocketPath
		if c.path == "" {
			c.path = clientSocketPath()
		}
		c.hc = c.HTTPClient
		if c.hc == nil {
			c.hc = &http.Client{Transport: unixTransport(c.path)}
		}
	})
}

func unixTransport(path string) *http.Transport {
	return &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			conn, err := d.DialContext(ctx, "unix", path)
			if err != nil {
				return nil, &ConnectError{Path: path, Err: err}
			}
			return conn, nil
		},
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ReadBufferSize:      64 << 10,
		WriteBufferSize:     64 << 10,
	}
}

// Path is the socket the client connects to.
func (c *Client) Path() string {
	c.init()
	return c.path
}

// do sends a request and returns a 2xx response; any other status becomes
// an *Error carrying the daemon's message.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, hdr http.Header) (*http.Response, error) {
	c.init()
	req, err := http.NewRequestWithContext(ctx, method, "http://meshcache"+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ce *ConnectError
		if errors.As(err, &ce) {
			return nil, ce
		}
		return nil, err // a *url.Error, which names the method and URL
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, responseError(resp)
}

// responseError decodes the daemon's JSON error, or keeps whatever text
// answered (net/http's own replies to malformed requests are plain text).
func responseError(resp *http.Response) *Error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &Error{}
	if err := json.Unmarshal(raw, e); err != nil || e.Message == "" {
		msg := strings.TrimSpace(string(raw))
		if msg == "" {
			msg = resp.Status
		}
		e = &Error{Code: codeFor(resp.StatusCode), Message: "meshcache daemon answered " + resp.Status + ": " + msg}
	}
	e.Status = resp.StatusCode
	return e
}

// getJSON GETs path and decodes the answer into out.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	return c.sendJSON(ctx, http.MethodGet, path, nil, out)
}

// sendJSON sends in (nil: no body) and decodes the answer into out (nil:
// discard it).
func (c *Client) sendJSON(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	resp, err := c.do(ctx, method, path, body, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
