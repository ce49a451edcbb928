package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawExchange writes raw bytes on a fresh connection (closing its write side
// when closeWrite) and returns the first response, or nil when the server
// just closed the connection.
func rawExchange(t *testing.T, path, raw string, closeWrite bool) *http.Response {
	t.Helper()
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial: %v (the server stopped accepting?)", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatalf("write: %v", err)
	}
	if closeWrite {
		conn.(*net.UnixConn).CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}

// TestMalformedRequests throws a batch of broken requests at a real server;
// each gets a 4xx (or a closed connection) and the server keeps serving.
func TestMalformedRequests(t *testing.T) {
	f := newFixture()
	path, _ := startServer(t, newTestHandler(t, f.b), ServerConfig{ReadHeaderTimeout: 200 * time.Millisecond, MaxHeaderBytes: 8 << 10})
	root := f.root.String()
	cases := []struct {
		name       string
		raw        string
		closeWrite bool
		wantStatus int    // 0: the server may just close the connection
		wantCode   string // our JSON error code, when it reaches the handler
	}{
		{"garbage line", "GARBAGE\r\n\r\n", false, 400, ""},
		{"binary", "\x00\x01\x02\xff\xfe\r\n\r\n", false, 400, ""},
		{"bad version", "GET /v1/stats HTTP/9.9\r\nHost: m\r\n\r\n", false, 505, ""},
		{"no host", "GET /v1/stats HTTP/1.1\r\n\r\n", false, 400, ""},
		{"bad method", "BREW /v1/stats HTTP/1.1\r\nHost: m\r\n\r\n", false, 405, CodeMethodNotAllowed},
		{"method with junk", "G\x01T /v1/stats HTTP/1.1\r\nHost: m\r\n\r\n", false, 400, ""},
		{"huge header", "GET /v1/stats HTTP/1.1\r\nHost: m\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n", false, 431, ""},
		{"many headers", "GET /v1/stats HTTP/1.1\r\nHost: m\r\n" + strings.Repeat("X-A: b\r\n", 4000) + "\r\n", false, 431, ""},
		{"bad header line", "GET /v1/stats HTTP/1.1\r\nHost: m\r\nBad Header: x\r\n\r\n", false, 400, ""},
		{"traversal", "GET /v1/fs/" + root + "/../../etc/passwd HTTP/1.1\r\nHost: m\r\n\r\n", false, 400, CodeBadPath},
		{"encoded traversal", "GET /v1/fs/" + root + "/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: m\r\n\r\n", false, 400, CodeBadPath},
		{"backslash traversal", "GET /v1/fs/" + root + "/..%5c..%5cetc HTTP/1.1\r\nHost: m\r\n\r\n", false, 404, CodeNotFound},
		{"absolute traversal", "GET /../../etc/passwd HTTP/1.1\r\nHost: m\r\n\r\n", false, 400, CodeBadPath},
		{"bad escape", "GET /v1/fs/" + root + "/%zz HTTP/1.1\r\nHost: m\r\n\r\n", false, 400, ""},
		{"no slash", "GET v1/stats HTTP/1.1\r\nHost: m\r\n\r\n", false, 400, ""},
		{"absolute form", "GET http://elsewhere/v1/stats HTTP/1.1\r\nHost: m\r\n\r\n", false, 200, ""},
		{"options star", "OPTIONS * HTTP/1.1\r\nHost: m\r\n\r\n", false, 200, ""},
		{"connect", "CONNECT m:80 HTTP/1.1\r\nHost: m:80\r\n\r\n", false, 400, ""},
		{"truncated body", "POST /v1/pins HTTP/1.1\r\nHost: m\r\nContent-Length: 100\r\n\r\n{\"cid\":", true, 400, CodeBadRequest},
		{"bad content length", "POST /v1/pins HTTP/1.1\r\nHost: m\r\nContent-Length: -5\r\n\r\n", false, 400, ""},
		{"two content lengths", "POST /v1/pins HTTP/1.1\r\nHost: m\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}", false, 400, ""},
		{"length and chunked", "POST /v1/pins HTTP/1.1\r\nHost: m\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false, 400, ""},
		{"bad chunk", "POST /v1/pins HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", false, 400, CodeBadRequest},
		{"huge chunked body", "POST /v1/pins HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n" + strings.Repeat("8000\r\n"+strings.Repeat("x", 0x8000)+"\r\n", 40) + "0\r\n\r\n", false, 413, CodeBodyTooLarge},
		{"huge range header", "GET /v1/fs/" + root + "/a.txt HTTP/1.1\r\nHost: m\r\nRange: bytes=" + strings.Repeat("1-2,", 1500) + "\r\n\r\n", false, 416, CodeRangeNotSatisfiable},
		{"slowloris", "GET /v1/stats HTTP/1.1\r\nHost: m\r\nX-Slow:", false, 0, ""},
		{"panic", "GET /v1/fs/" + root + "/panic HTTP/1.1\r\nHost: m\r\n\r\n", false, 500, CodeInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawExchange(t, path, tc.raw, tc.closeWrite)
			switch {
			case resp == nil && tc.wantStatus == 0:
			case resp == nil:
				t.Fatalf("connection closed without an answer, want %d", tc.wantStatus)
			case resp.StatusCode != tc.wantStatus:
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d; body %.200q", resp.StatusCode, tc.wantStatus, b)
			}
			if tc.wantCode != "" {
				var e Error
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Code != tc.wantCode {
					t.Fatalf("body code %q (err %v), want %q", e.Code, err, tc.wantCode)
				}
			}
			// The server still serves a normal request.
			c := &Client{SocketPath: path}
			if data, err := c.ReadFile(t.Context(), f.root, "a.txt"); err != nil || len(data) != 10007 {
				t.Fatalf("after %s: read %d bytes, %v", tc.name, len(data), err)
			}
		})
	}
}
