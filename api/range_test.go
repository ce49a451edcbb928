package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
)

func TestParseRange(t *testing.T) {
	type r = byteRange
	cases := []struct {
		header string
		size   int64
		want   []byteRange // nil with ignore: send everything
		ignore bool
		errMsg string // substring; "" means no error
	}{
		{"bytes=0-0", 10, []r{{0, 1}}, false, ""},
		{"bytes=0-9", 10, []r{{0, 10}}, false, ""},
		{"bytes=0-10", 10, []r{{0, 10}}, false, ""},
		{"bytes=3-", 10, []r{{3, 7}}, false, ""},
		{"bytes=-3", 10, []r{{7, 3}}, false, ""},
		{"bytes=-10", 10, []r{{0, 10}}, false, ""},
		{"bytes=-11", 10, []r{{0, 10}}, false, ""},
		{"bytes=9-", 10, []r{{9, 1}}, false, ""},
		{"Bytes = 1-2", 10, []r{{1, 2}}, false, ""},
		{"bytes= 1-2 ,\t4-5 ", 10, []r{{1, 2}, {4, 2}}, false, ""},
		{"bytes=1-2,,", 10, []r{{1, 2}}, false, ""},
		{"bytes=20-30,1-2", 10, []r{{1, 2}}, false, ""},
		{"bytes=0-99999999999999999999999", 10, []r{{0, 10}}, false, ""},
		{"bytes=-99999999999999999999999", 10, []r{{0, 10}}, false, ""},
		{"items=0-1", 10, nil, true, ""},
		{"bytes=-5", 0, nil, true, ""},
		{"bytes=10-", 10, nil, false, "not satisfiable"},
		{"bytes=10-20", 10, nil, false, "not satisfiable"},
		{"bytes=-0", 10, nil, false, "not satisfiable"},
		{"bytes=0-", 0, nil, false, "not satisfiable"},
		{"bytes=5-4", 10, nil, false, "ends before it starts"},
		{"bytes", 10, nil, false, "no '='"},
		{"bytes=", 10, nil, false, "lists no range"},
		{"bytes=,", 10, nil, false, "lists no range"},
		{"bytes=5", 10, nil, false, "has no '-'"},
		{"bytes=a-5", 10, nil, false, "does not start with a byte offset"},
		{"bytes=5-b", 10, nil, false, "does not end with a byte offset"},
		{"bytes=+5-6", 10, nil, false, "does not start"},
		{"bytes=--5", 10, nil, false, "not -LENGTH"},
		{"bytes=1 -2", 10, nil, false, "does not start"},
		{"bytes=0-1,x", 10, nil, false, "has no '-'"},
		{"bytes=" + strings.Repeat("0-0,", maxRangeSpecs+1), 10, nil, false, "more than 100 ranges"},
	}
	for _, tc := range cases {
		t.Run(tc.header, func(t *testing.T) {
			got, err := parseRange(tc.header, tc.size)
			if tc.errMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errMsg)
				}
				if e := asError(err); e.Status != http.StatusRequestedRangeNotSatisfiable {
					t.Fatalf("status %d, want 416", e.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.ignore != (got == nil) || !slices.Equal(got, tc.want) {
				t.Fatalf("ranges %v, want %v (ignore %v)", got, tc.want, tc.ignore)
			}
		})
	}
}

// rangeTarget is a way to serve a file: in-process, or over the socket
// from memory (Write path) or from files on disk (sendfile path).
type rangeTarget struct {
	name  string
	serve func(t *testing.T, req request) result
	srv   *Server
}

func rangeTargets(t *testing.T, data []byte) []rangeTarget {
	b := newTestBackend()
	mem := &fileBackend{testBackend: b, file: &memFile{c: sumCID(cid.Raw, data), data: data, piece: testPiece, b: b}}
	disk := &fileBackend{testBackend: b, file: newDiskFile(t, t.TempDir(), data, testPiece)}
	hMem, hDisk := newTestHandler(t, mem), newTestHandler(t, disk)
	memPath, _ := startServer(t, hMem, ServerConfig{})
	diskPath, diskSrv := startServer(t, hDisk, ServerConfig{})
	memClient, diskClient := socketClient(memPath), socketClient(diskPath)
	return []rangeTarget{
		{name: "in-process", serve: func(t *testing.T, req request) result { return serveRecorder(hMem, req, &rootPeer) }},
		{name: "socket-memory", serve: func(t *testing.T, req request) result { return serveSocket(t, memClient, req) }},
		{name: "socket-sendfile", serve: func(t *testing.T, req request) result { return serveSocket(t, diskClient, req) }, srv: diskSrv},
	}
}

// TestRangesAcrossPieces reads many ranges around the file's piece
// boundaries (1000 bytes) and checks every byte, status and header.
func TestRangesAcrossPieces(t *testing.T) {
	const size = 10*testPiece + 7
	data := randBytes(9, size)
	offsets := []int64{0, 1, 511, 512, 513, 999, 1000, 1001, 1999, 2000, 4321, size - 1001, size - 1000, size - 999, size - 8, size - 7, size - 1}
	lengths := []int64{1, 2, 511, 512, 513, 999, 1000, 1001, 2000, 2001, 5555, size}
	type want struct {
		spec       string
		start, end int64 // inclusive
	}
	var wants []want
	for _, off := range offsets {
		for _, n := range lengths {
			end := min(off+n, size) - 1
			wants = append(wants, want{fmt.Sprintf("bytes=%d-%d", off, off+n-1), off, end})
		}
		wants = append(wants, want{fmt.Sprintf("bytes=%d-", off), off, size - 1})
	}
	for _, n := range lengths {
		wants = append(wants, want{fmt.Sprintf("bytes=-%d", n), max(size-n, 0), size - 1})
	}
	for _, tgt := range rangeTargets(t, data) {
		t.Run(tgt.name, func(t *testing.T) {
			for _, w := range wants {
				for _, method := range []string{"GET", "HEAD"} {
					res := tgt.serve(t, request{method: method, target: "/v1/fs/" + sumCID(cid.DagProtobuf, nil).String() + "/f",
						header: map[string]string{"Range": w.spec}})
					n := w.end - w.start + 1
					cr := fmt.Sprintf("bytes %d-%d/%d", w.start, w.end, size)
					if res.err != nil || res.status != 206 || res.header.Get("Content-Range") != cr || res.header.Get("Content-Length") != fmt.Sprint(n) {
						t.Fatalf("%s %s: status %d, Content-Range %q (want %q), Content-Length %q (want %d), err %v",
							method, w.spec, res.status, res.header.Get("Content-Range"), cr, res.header.Get("Content-Length"), n, res.err)
					}
					wantBody := data[w.start : w.end+1]
					if method == "HEAD" {
						wantBody = nil
					}
					if !bytes.Equal(res.body, wantBody) {
						t.Fatalf("%s %s: body of %d bytes differs from the file's bytes %d-%d", method, w.spec, len(res.body), w.start, w.end)
					}
				}
			}
			res := tgt.serve(t, request{method: "GET", target: "/v1/fs/" + sumCID(cid.DagProtobuf, nil).String() + "/f"})
			if res.status != 200 || !bytes.Equal(res.body, data) {
				t.Fatalf("whole file: status %d, %d bytes", res.status, len(res.body))
			}
			if tgt.srv != nil && tgt.srv.SendfileBytes() < size/2 {
				t.Fatalf("sendfile moved %d bytes; the disk-backed reads did not reach sendfile", tgt.srv.SendfileBytes())
			}
		})
	}
}

// TestSendfileLargeRange checks that a large range of a file on disk leaves
// through sendfile (all but the first bytes net/http reads itself).
func TestSendfileLargeRange(t *testing.T) {
	const size = 8 << 20
	data := randBytes(10, size)
	disk := &fileBackend{testBackend: newTestBackend(), file: newDiskFile(t, t.TempDir(), data, 1<<20)}
	path, srv := startServer(t, newTestHandler(t, disk), ServerConfig{})
	c := &Client{SocketPath: path}
	const off, n = 1<<20 - 100, 5 << 20
	rc, err := c.OpenRange(t.Context(), sumCID(cid.DagProtobuf, nil), "f", off, n)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data[off:off+n]) {
		t.Fatalf("read %d bytes (err %v), want the file's %d bytes from %d", len(got), err, n, off)
	}
	// Each of the 6 pieces touched keeps at most 512 bytes back for the
	// status line check.
	if sent := srv.SendfileBytes(); sent < n-6*512 {
		t.Fatalf("sendfile moved %d of %d bytes", sent, n)
	}
}

// TestMidStreamFailure: once bytes are out, a failing read must not look
// like a complete answer.
func TestMidStreamFailure(t *testing.T) {
	f := newFixture()
	path, _ := startServer(t, newTestHandler(t, f.b), ServerConfig{})
	c := &Client{SocketPath: path}
	rc, err := c.Open(t.Context(), f.root, "broken")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read %d bytes with err %v, want io.ErrUnexpectedEOF", len(got), err)
	}
	if len(got) > 9000 || !bytes.Equal(got, f.files["broken"][:len(got)]) {
		t.Fatalf("got %d bytes before the cut; the file fails at 9000", len(got))
	}
	// A failure while the bytes are still in net/http's buffer cuts the
	// connection before the status line.
	if rc, err := c.Open(t.Context(), f.root, "broken-small"); err == nil {
		got, err := io.ReadAll(rc)
		rc.Close()
		t.Fatalf("broken-small read as %d bytes, err %v", len(got), err)
	}
	if _, err := c.Stats(context.Background()); err != nil {
		t.Fatalf("daemon stopped answering: %v", err)
	}
}
