package emulate

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// NginxBinary is the origin server.
const NginxBinary = "/usr/sbin/nginx"

// originConf runs nginx in the origin namespace: one process, no privilege
// drop, everything under the prefix; the access log records each request's
// client address and bytes, the origin's own count of what it served.
const originConf = `daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 4096; }
http {
	default_type application/octet-stream;
	client_body_temp_path %[1]s/tmp;
	proxy_temp_path %[1]s/tmp;
	fastcgi_temp_path %[1]s/tmp;
	uwsgi_temp_path %[1]s/tmp;
	scgi_temp_path %[1]s/tmp;
	log_format emulate '$remote_addr\t$body_bytes_sent\t$bytes_sent\t$status\t$msec\t$request_time\t$http_range';
	access_log %[1]s/access.log emulate;
	keepalive_requests 1000000;
	chunked_transfer_encoding off;
	server {
		listen %[2]s:80;
		root %[3]s;
		location / {
			autoindex on;
			autoindex_format json;
		}
	}
}
`

// originServer is nginx running in the origin's namespace.
type originServer struct {
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
	URL     string
}

func startOrigin(ctx context.Context, h host, dir, dataDir string) (*originServer, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o755); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, originConf, dir, h.Addr, dataDir), 0o644); err != nil {
		return nil, err
	}
	errLog := filepath.Join(dir, "error.log")
	cmd := exec.Command("ip", "netns", "exec", h.NS, NginxBinary, "-p", dir, "-c", conf, "-e", errLog)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start nginx: %w", err)
	}
	o := &originServer{cmd: cmd, done: make(chan struct{}), logPath: filepath.Join(dir, "access.log"), URL: "http://" + h.Addr.String() + "/"}
	go func() { cmd.Wait(); close(o.done) }()
	// The origin's address is reachable only inside the namespaces, so
	// readiness is checked with ss there.
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-o.done:
			return nil, fmt.Errorf("nginx exited: %s", tail(errLog))
		default:
		}
		out, _ := exec.CommandContext(ctx, "ip", "netns", "exec", h.NS, "ss", "-Hltn", "sport = :80").Output()
		if strings.Contains(string(out), "LISTEN") {
			return o, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			o.stop()
			return nil, fmt.Errorf("nginx does not listen on %s:80: %s", h.Addr, tail(errLog))
		}
	}
}

func (o *originServer) stop() {
	syscall.Kill(-o.cmd.Process.Pid, syscall.SIGKILL)
	<-o.done
}

// OriginCount is what the origin served one client address.
type OriginCount struct {
	Requests  int64
	BodyBytes int64 // nginx $body_bytes_sent
	Bytes     int64 // nginx $bytes_sent (headers included)
}

// bytesByClient sums the access log by client address.
func (o *originServer) bytesByClient() (map[netip.Addr]OriginCount, error) {
	f, err := os.Open(o.logPath)
	if os.IsNotExist(err) {
		return map[netip.Addr]OriginCount{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[netip.Addr]OriginCount{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 4 {
			continue
		}
		a, err1 := netip.ParseAddr(fields[0])
		body, err2 := strconv.ParseInt(fields[1], 10, 64)
		all, err3 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, fmt.Errorf("nginx access log line %q: unparsable", sc.Text())
		}
		c := out[a]
		c.Requests++
		c.BodyBytes += body
		c.Bytes += all
		out[a] = c
	}
	return out, sc.Err()
}

// writeDataset fills dir with files random bytes totalling size, split in
// files parts of about equal size.
func writeDataset(dir string, size int64, files int, seed uint64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files = max(files, 1)
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	buf := make([]byte, 1<<20)
	left := size
	for i := range files {
		n := size / int64(files)
		if i == files-1 {
			n = left
		}
		left -= n
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("part-%04d.bin", i)))
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(f, 1<<20)
		for n > 0 {
			k := min(n, int64(len(buf)))
			rng.Read(buf[:k])
			if _, err := w.Write(buf[:k]); err != nil {
				f.Close()
				return err
			}
			n -= k
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
