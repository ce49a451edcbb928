package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// S3 is a running versitygw gateway serving the sub-folders of a directory as
// S3 buckets (posix backend) on 127.0.0.1, path-style, region us-east-1.
// Buckets are unversioned unless a test enables versioning on one
// (PutBucketVersioning); the gateway keeps old versions in its own temp
// folder.
type S3 struct {
	// Endpoint is "http://127.0.0.1:PORT".
	Endpoint string
	// HostPort is "127.0.0.1:PORT" (minio-go wants the endpoint without scheme).
	HostPort  string
	AccessKey string
	SecretKey string
	Region    string
	// Dir holds the buckets: Dir/BUCKET/KEY is an object.
	Dir string

	prefix string
	stats  *statsdSink
}

// StartS3 serves dir's sub-folders as buckets with versitygw until the test
// ends; it creates dir if needed. It fails the test when versitygw is missing
// or does not start. Access and secret keys are random per server.
func StartS3(t testing.TB, dir string) *S3 {
	t.Helper()
	bin := versitygwBinary()
	requireBinary(t, bin)
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("S3 dir %s: %v", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		t.Fatalf("S3 dir: %v", err)
	}
	var lastErr error
	for range startAttempts {
		s, err := startS3(t, bin, abs)
		if err == nil {
			return s
		}
		lastErr = err
		if !strings.Contains(err.Error(), errAddrInUse.Error()) {
			break
		}
	}
	t.Fatalf("start versitygw: %v", lastErr)
	return nil
}

func startS3(t testing.TB, bin, dir string) (*S3, error) {
	stats, err := listenStatsd()
	if err != nil {
		return nil, fmt.Errorf("statsd listener: %w", err)
	}
	s := &S3{
		HostPort:  fmt.Sprintf("127.0.0.1:%d", FreePort(t)),
		AccessKey: "AK" + randomHex(8),
		SecretKey: randomHex(20),
		Region:    "us-east-1",
		Dir:       dir,
		prefix:    t.TempDir(),
		stats:     stats,
	}
	s.Endpoint = "http://" + s.HostPort
	logPath := filepath.Join(s.prefix, "versitygw.log")
	versions := filepath.Join(s.prefix, "versions")
	if err := os.Mkdir(versions, 0o755); err != nil {
		stats.close()
		return nil, err
	}
	cmd := exec.Command(bin,
		"--access", s.AccessKey, "--secret", s.SecretKey,
		"--port", s.HostPort, "--region", s.Region, "--quiet",
		"--metrics-statsd-servers", stats.addr(),
		"posix", "--versioning-dir", versions, dir)
	p, err := startProc(cmd, logPath)
	if err != nil {
		stats.close()
		return nil, err
	}
	if err := waitS3(p, s.Endpoint); err != nil {
		p.stop(syscall.SIGKILL)
		stats.close()
		log := readLog(logPath)
		if strings.Contains(log, "address already in use") {
			return nil, fmt.Errorf("%w (%s): %s", errAddrInUse, s.HostPort, log)
		}
		return nil, fmt.Errorf("%v\nversitygw log:\n%s", err, log)
	}
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM)
		stats.close()
	})
	return s, nil
}

// waitS3 waits until the gateway answers HTTP (any status: an unsigned
// request gets 403, which proves the S3 handler is up).
func waitS3(p *proc, endpoint string) error {
	hostPort := strings.TrimPrefix(endpoint, "http://")
	if err := p.waitTCP(hostPort); err != nil {
		return err
	}
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		resp, err := c.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("versitygw at %s does not answer HTTP", endpoint)
}

// statsdSettle exceeds versitygw's 100 ms metrics flush interval, so two equal
// reads this far apart mean nothing is pending.
const statsdSettle = 250 * time.Millisecond

// BytesSent is the sum of GetObject response lengths versitygw has reported
// (its statsd "bytes_read" counter, which counts each response's
// Content-Length: a read the client abandons counts in full). versitygw's
// access log records no body size for GetObject, so this is the only count
// it offers; metrics are flushed every 100 ms, so this waits (≥250 ms) until
// the sum has stopped changing.
func (s *S3) BytesSent() int64 {
	return settle(s.stats.bytesRead, statsdSettle, 3*time.Second)
}

// GetObjectRequests is the number of GetObject requests versitygw reported.
func (s *S3) GetObjectRequests() int64 {
	return settle(s.stats.getObjects, statsdSettle, 3*time.Second)
}

// Log returns versitygw's output, for failure messages.
func (s *S3) Log() string { return readLog(filepath.Join(s.prefix, "versitygw.log")) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// statsdSink receives versitygw's statsd datagrams on 127.0.0.1 and keeps
// the counters tests ask for.
type statsdSink struct {
	conn *net.UDPConn
	done chan struct{}

	mu    sync.Mutex
	bytes int64
	gets  int64
}

func listenStatsd() (*statsdSink, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	s := &statsdSink{conn: conn, done: make(chan struct{})}
	go s.run()
	return s, nil
}

func (s *statsdSink) addr() string { return s.conn.LocalAddr().String() }

// run reads datagrams until close; it owns nothing but the socket's reads.
func (s *statsdSink) run() {
	defer close(s.done)
	buf := make([]byte, 64<<10)
	for {
		n, err := s.conn.Read(buf)
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(buf[:n]), "\n") {
			s.record(line)
		}
	}
}

// record parses "versitygw.bytes_read,tag=v,...:123|c".
func (s *statsdSink) record(line string) {
	name, rest, ok := strings.Cut(line, ",")
	if !ok {
		return
	}
	colon := strings.LastIndexByte(rest, ':')
	bar := strings.LastIndexByte(rest, '|')
	if colon < 0 || bar < colon {
		return
	}
	v, err := strconv.ParseInt(rest[colon+1:bar], 10, 64)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case name == "versitygw.bytes_read":
		s.bytes += v
	case name == "versitygw.success_count" && strings.Contains(rest, "action=GetObject,"):
		s.gets += v
	}
}

func (s *statsdSink) bytesRead() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

func (s *statsdSink) getObjects() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

func (s *statsdSink) close() {
	s.conn.Close()
	<-s.done
}
