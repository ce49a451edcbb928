package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func TestRequireRootPassesAsRoot(t *testing.T) {
	RequireRoot(t) // the test machines run as root; this fails loudly otherwise
}

func TestNginxServesRangesListsAndLogs(t *testing.T) {
	root := t.TempDir()
	data := bytes.Repeat([]byte("0123456789"), 1000)
	if err := os.MkdirAll(filepath.Join(root, "sub dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sub dir", "é.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	ng := StartNginx(t, root)
	if !strings.HasPrefix(ng.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", ng.URL())
	}

	req, _ := http.NewRequest("GET", ng.URL()+"sub%20dir/%C3%A9.bin", nil)
	req.Header.Set("Range", "bytes=5-24")
	body := do(t, req, http.StatusPartialContent)
	if !bytes.Equal(body, data[5:25]) {
		t.Fatalf("range body %q, want %q", body, data[5:25])
	}

	req, _ = http.NewRequest("GET", ng.URL()+"sub%20dir/", nil)
	listing := do(t, req, http.StatusOK)
	var ents []struct{ Name, Type string }
	if err := json.Unmarshal(listing, &ents); err != nil {
		t.Fatalf("autoindex is not JSON: %v: %s", err, listing)
	}
	if len(ents) != 1 || ents[0].Name != "é.bin" || ents[0].Type != "file" {
		t.Fatalf("listing %+v", ents)
	}

	if got, want := ng.BytesSent(), int64(20+len(listing)); got != want {
		t.Fatalf("BytesSent %d, want %d", got, want)
	}
	reqs := ng.Requests()
	if len(reqs) != 2 {
		t.Fatalf("logged %d requests, want 2: %+v", len(reqs), reqs)
	}
	want := LogEntry{Method: "GET", URI: "/sub%20dir/%C3%A9.bin", Range: "bytes=5-24", Status: 206, BodyBytes: 20}
	if reqs[0] != want {
		t.Fatalf("log entry %+v, want %+v", reqs[0], want)
	}
	if reqs[1].Range != "" || reqs[1].Status != 200 {
		t.Fatalf("listing log entry %+v", reqs[1])
	}
}

func TestTwoNginxGetDifferentPorts(t *testing.T) {
	a, b := StartNginx(t, t.TempDir()), StartNginx(t, t.TempDir())
	if a.URL() == b.URL() {
		t.Fatalf("both servers at %s", a.URL())
	}
}

// TestLaunchNginxThroughput: the benchmark's nginx serves the same folder
// the same way, writes no access log, and is gone after Stop.
func TestLaunchNginxThroughput(t *testing.T) {
	root, prefix := t.TempDir(), filepath.Join(t.TempDir(), "nginx")
	data := bytes.Repeat([]byte("abcdefgh"), 64<<10)
	if err := os.WriteFile(filepath.Join(root, "big.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := LaunchNginx(prefix, root, NginxOptions{Binary: NginxBinary, Throughput: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop) // in case a check fails before the Stop below
	if s.Pid() <= 0 {
		t.Fatalf("pid %d", s.Pid())
	}
	req, _ := http.NewRequest("GET", s.URL()+"big.bin", nil)
	if got := do(t, req, http.StatusOK); !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want the %d written", len(got), len(data))
	}
	req, _ = http.NewRequest("GET", s.URL()+"big.bin", nil)
	req.Header.Set("Range", "bytes=8-15")
	if got := do(t, req, http.StatusPartialContent); !bytes.Equal(got, data[8:16]) {
		t.Fatalf("range body %q", got)
	}
	if _, err := os.Stat(filepath.Join(prefix, "access.log")); !os.IsNotExist(err) {
		t.Fatalf("access log exists (%v); the benchmark's nginx must not log requests", err)
	}
	s.Stop()
	if resp, err := http.Get(s.URL()); err == nil {
		resp.Body.Close()
		t.Fatal("nginx still answers after Stop")
	}
}

func TestS3ServesBucketsAndCountsBytes(t *testing.T) {
	dir := t.TempDir()
	data := bytes.Repeat([]byte("abcdefgh"), 4096)
	if err := os.MkdirAll(filepath.Join(dir, "bkt", "a b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bkt", "a b", "ü.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s3 := StartS3(t, dir)
	c, err := minio.New(s3.HostPort, &minio.Options{
		Creds:        credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""),
		Region:       s3.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var opts minio.GetObjectOptions
	if err := opts.SetRange(100, 1099); err != nil {
		t.Fatal(err)
	}
	body, _, _, err := minio.Core{Client: c}.GetObject(ctx, "bkt", "a b/ü.bin", opts)
	if err != nil {
		t.Fatalf("GetObject: %v\n%s", err, s3.Log())
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil || !bytes.Equal(got, data[100:1100]) {
		t.Fatalf("read %d bytes, %v; want data[100:1100]", len(got), err)
	}
	if _, err := c.PutObject(ctx, "bkt", "new/x.txt", strings.NewReader("hello"), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bkt", "new", "x.txt")); err != nil || string(b) != "hello" {
		t.Fatalf("put object on disk: %q, %v", b, err)
	}
	if got := s3.BytesSent(); got != 1000 {
		t.Fatalf("BytesSent %d, want 1000", got)
	}
	if got := s3.GetObjectRequests(); got != 1 {
		t.Fatalf("GetObjectRequests %d, want 1", got)
	}
}

func do(t *testing.T, req *http.Request, status int) []byte {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", req.Method, req.URL, resp.StatusCode, status, b)
	}
	return b
}
