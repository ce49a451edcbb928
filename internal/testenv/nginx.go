package testenv

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Nginx is a running nginx serving one folder read-only over HTTP on
// 127.0.0.1, with `autoindex on; autoindex_format json;` (directory URLs
// answer a JSON listing; nginx's autoindex leaves out dot-files).
type Nginx struct {
	t       testing.TB
	url     string
	prefix  string
	logPath string
}

// LogEntry is one request from nginx's access log.
type LogEntry struct {
	Method string
	// URI is the request URI as the client sent it (percent-encoded).
	URI string
	// Range is the Range request header, "" when absent.
	Range  string
	Status int
	// BodyBytes is nginx's $body_bytes_sent: body bytes sent, headers excluded.
	BodyBytes int64
}

// nginxConf is the whole configuration: one process, no privilege drop, all
// paths inside the prefix so nothing touches /var or /etc. %[4]s is the
// logging part, which tests and benchmarks want differently.
const nginxConf = `daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 1024; }
http {
	default_type application/octet-stream;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	keepalive_requests 1000000;
%[4]s
	server {
		listen 127.0.0.1:%[2]d;
		root %[3]s;
		location / {
			autoindex on;
			autoindex_format json;
		}
	}
}
`

// nginxTestLogging logs every request for Requests and BytesSent.
const nginxTestLogging = `	log_format meshcache escape=json '$request_method\t$request_uri\t$http_range\t$status\t$body_bytes_sent';
	access_log %s meshcache;
	# Listings are sent with a length, not chunked, so $body_bytes_sent counts
	# payload only (nginx counts chunk framing as body bytes).
	chunked_transfer_encoding off;`

// nginxThroughput is a benchmark's: no access log (the benchmark counts
// bytes itself, and logging would add to the nginx CPU it reports) and
// files sent with sendfile, as a production origin sends them.
const nginxThroughput = `	access_log off;
	sendfile on;`

// NginxOptions is how an nginx started outside a test differs.
type NginxOptions struct {
	// Binary is the nginx executable; NginxBinary when empty.
	Binary string
	// Throughput tunes nginx for a benchmark: no access log, sendfile on.
	Throughput bool
}

// NginxServer is a running nginx serving one folder on 127.0.0.1, owned by
// whoever launched it (a benchmark); tests use StartNginx instead.
type NginxServer struct {
	proc   *proc
	url    string
	prefix string
}

// LaunchNginx serves root with nginx on a free 127.0.0.1 port, keeping its
// configuration, pid file and logs in prefix (created if missing). The
// caller stops it with Stop; the process also dies with the caller's
// process.
func LaunchNginx(prefix, root string, o NginxOptions) (*NginxServer, error) {
	bin := o.Binary
	if bin == "" {
		bin = NginxBinary
	}
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		return nil, fmt.Errorf("nginx prefix: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logging := fmt.Sprintf(nginxTestLogging, filepath.Join(prefix, "access.log"))
	if o.Throughput {
		logging = nginxThroughput
	}
	conf := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, prefix, port, root, logging), 0o644); err != nil {
		return nil, fmt.Errorf("write nginx config: %w", err)
	}
	errLog := filepath.Join(prefix, "error.log")
	cmd := exec.Command(bin, "-p", prefix, "-c", conf, "-e", errLog)
	p, err := startProc(cmd, filepath.Join(prefix, "stdout.log"))
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := p.waitTCP(addr); err != nil {
		p.stop(syscall.SIGKILL)
		log := readLog(errLog)
		if strings.Contains(log, "Address already in use") {
			return nil, fmt.Errorf("%w (port %d): %s", errAddrInUse, port, log)
		}
		return nil, fmt.Errorf("%v\nnginx error log:\n%s", err, log)
	}
	return &NginxServer{proc: p, url: "http://" + addr + "/", prefix: prefix}, nil
}

// URL is the server's root URL, "http://127.0.0.1:PORT/".
func (s *NginxServer) URL() string { return s.url }

// Pid is the nginx process's ID (one process: no master).
func (s *NginxServer) Pid() int { return s.proc.cmd.Process.Pid }

// Stop terminates nginx and waits for it to exit.
func (s *NginxServer) Stop() { s.proc.stop(syscall.SIGTERM) }

// StartNginx serves root (an existing directory) with nginx until the test
// ends. It fails the test when nginx is missing or does not start.
func StartNginx(t testing.TB, root string) *Nginx {
	t.Helper()
	requireBinary(t, NginxBinary)
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatalf("nginx root %s: %v", root, err)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		t.Fatalf("nginx root %s is not a directory: %v", abs, err)
	}
	var lastErr error
	for range startAttempts {
		s, err := LaunchNginx(t.TempDir(), abs, NginxOptions{})
		if err == nil {
			t.Cleanup(s.Stop)
			return &Nginx{t: t, url: s.url, prefix: s.prefix, logPath: filepath.Join(s.prefix, "access.log")}
		}
		lastErr = err
		if !strings.Contains(err.Error(), errAddrInUse.Error()) {
			break
		}
	}
	t.Fatalf("start nginx: %v", lastErr)
	return nil
}

// URL is the server's root URL, "http://127.0.0.1:PORT/".
func (n *Nginx) URL() string { return n.url }

// Requests returns the requests nginx has logged so far, oldest first (call
// it from the test's goroutine: it fails the test if the log is unreadable).
// nginx
// logs a request just after sending its last byte, so a request the client
// has only just finished may be missing; BytesSent waits for that.
func (n *Nginx) Requests() []LogEntry {
	b, err := os.ReadFile(n.logPath)
	if err != nil && !os.IsNotExist(err) {
		n.t.Fatalf("read nginx access log: %v", err)
	}
	var out []LogEntry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if e, ok := parseNginxLog(sc.Text()); ok {
			out = append(out, e)
		}
	}
	return out
}

// BytesSent is the sum of body bytes nginx has sent (its $body_bytes_sent),
// read once the access log has stopped growing.
func (n *Nginx) BytesSent() int64 {
	sum := func() int64 {
		var s int64
		for _, e := range n.Requests() {
			s += e.BodyBytes
		}
		return s
	}
	return settle(sum, 30*time.Millisecond, 2*time.Second)
}

// ErrorLog returns nginx's error log, for failure messages.
func (n *Nginx) ErrorLog() string { return readLog(filepath.Join(n.prefix, "error.log")) }

func parseNginxLog(line string) (LogEntry, bool) {
	f := strings.Split(line, "\t")
	if len(f) != 5 {
		return LogEntry{}, false
	}
	for i, s := range f {
		f[i] = unescapeJSON(s)
	}
	status, err1 := strconv.Atoi(f[3])
	bytes, err2 := strconv.ParseInt(f[4], 10, 64)
	if err1 != nil || err2 != nil {
		return LogEntry{}, false
	}
	return LogEntry{Method: f[0], URI: f[1], Range: f[2], Status: status, BodyBytes: bytes}, true
}

// unescapeJSON undoes nginx's escape=json on one field.
func unescapeJSON(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var out string
	if err := json.Unmarshal([]byte(`"`+s+`"`), &out); err != nil {
		return s
	}
	return out
}
