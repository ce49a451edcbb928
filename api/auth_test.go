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
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
)

// childReport is what a child process prints: the outcome of each call it
// made on the daemon, as it saw them.
type childReport struct {
	UID, GID      int
	Groups        []int
	StatsErr      string
	ReadOK        bool
	PinStatus     int
	PinCode       string
	PinErr        string
	ConnectErr    bool
	ProfileStatus int
	DefaultSocket map[string]string
}

// runChild is the child side, run as another user: "connect" holds a
// connection to the socket until stdin closes; "client" uses the API and
// reports what it saw.
func runChild(role string) int {
	if role == "connect" {
		conn, err := net.Dial("unix", os.Getenv("MESHCACHE_API_TEST_SOCKET"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 2
		}
		defer conn.Close()
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep := childReport{UID: os.Getuid(), GID: os.Getgid()}
	rep.Groups, _ = os.Getgroups()
	c := &Client{SocketPath: os.Getenv("MESHCACHE_API_TEST_SOCKET")}
	root, err := cid.Decode(os.Getenv("MESHCACHE_API_TEST_ROOT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: bad root:", err)
		return 2
	}
	if _, err := c.Stats(ctx); err != nil {
		rep.StatsErr = err.Error()
		var ce *ConnectError
		rep.ConnectErr = errors.As(err, &ce)
	}
	if data, err := c.ReadFile(ctx, root, "a.txt"); err == nil && len(data) == 10007 {
		rep.ReadOK = true
	}
	if _, err := c.Pin(ctx, root, ""); err != nil {
		rep.PinErr = err.Error()
		var e *Error
		if errors.As(err, &e) {
			rep.PinStatus, rep.PinCode = e.Status, e.Code
		}
	} else {
		rep.PinStatus = 202
	}
	rep.ProfileStatus = getStatus(ctx, os.Getenv("MESHCACHE_API_TEST_SOCKET"), "/debug/pprof/goroutine?debug=1")
	rep.DefaultSocket = map[string]string{"with-xdg": DefaultSocketPath()}
	os.Unsetenv("XDG_RUNTIME_DIR")
	rep.DefaultSocket["without-xdg"] = DefaultSocketPath()
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 2
	}
	return 0
}

// getStatus answers the status of a GET on the socket, or -1.
func getStatus(ctx context.Context, socket, path string) int {
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://meshcache"+path, nil)
	if err != nil {
		return -1
	}
	resp, err := hc.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// authEnv is a daemon on a socket of group 65534 in a folder every user
// can reach, and a copy of the test binary every user can run.
type authEnv struct {
	dir, socket, binary string
	root                cid.Cid
}

func newAuthEnv(t *testing.T) *authEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatalf("the authorization tests must run as root (they start children as uid 65534); euid is %d", os.Geteuid())
	}
	dir := mustTempDir(t, 0o755)
	env := &authEnv{dir: dir, socket: filepath.Join(dir, "run", "api.sock"), binary: filepath.Join(dir, "api.test")}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyFile(t, self, env.binary, 0o755)

	f := newFixture()
	env.root = f.root
	ln, err := Listen(env.socket, 0o660, 65534)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ServerConfig{Handler: newTestHandler(t, f.b), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return env
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// run starts the child as cred and decodes its report.
func (e *authEnv) run(t *testing.T, cred *syscall.Credential) childReport {
	t.Helper()
	cmd := exec.Command(e.binary)
	cmd.Dir = e.dir
	cmd.Env = []string{
		envChild + "=client",
		"MESHCACHE_API_TEST_SOCKET=" + e.socket,
		"MESHCACHE_API_TEST_ROOT=" + e.root.String(),
		"XDG_RUNTIME_DIR=/run/user/" + fmt.Sprint(cred.Uid),
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child as uid %d: %v\nstderr: %s", cred.Uid, err, stderr.String())
	}
	var rep childReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("child report %q: %v (stderr %s)", stdout.String(), err, stderr.String())
	}
	if rep.UID != int(cred.Uid) || rep.GID != int(cred.Gid) {
		t.Fatalf("child ran as uid %d gid %d, want %d %d", rep.UID, rep.GID, cred.Uid, cred.Gid)
	}
	return rep
}

func TestAuthorizationAsOtherUsers(t *testing.T) {
	env := newAuthEnv(t)

	t.Run("nobody reads but may not pin", func(t *testing.T) {
		rep := env.run(t, &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}})
		if rep.StatsErr != "" || !rep.ReadOK {
			t.Fatalf("reads failed: stats %q, read ok %v", rep.StatsErr, rep.ReadOK)
		}
		const want = "pin needs an admin: uid 65534 is not root, not the daemon's uid 0 and not in group 'meshcache-admin' (gid 990)"
		if rep.PinStatus != 403 || rep.PinCode != CodeForbidden || rep.PinErr != want {
			t.Fatalf("pin = %d %s %q, want 403 forbidden %q", rep.PinStatus, rep.PinCode, rep.PinErr, want)
		}
		if rep.ProfileStatus != http.StatusForbidden {
			t.Fatalf("profile as uid 65534 = %d, want 403", rep.ProfileStatus)
		}
		if rep.DefaultSocket["with-xdg"] != "/run/user/65534/meshcache/meshcache.sock" ||
			rep.DefaultSocket["without-xdg"] != "/tmp/meshcache-65534/meshcache.sock" {
			t.Fatalf("default socket paths for uid 65534: %v", rep.DefaultSocket)
		}
	})
	t.Run("admin group member pins", func(t *testing.T) {
		rep := env.run(t, &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{100, adminGID}})
		if !slices.Contains(rep.Groups, adminGID) {
			t.Fatalf("child groups %v lack %d", rep.Groups, adminGID)
		}
		if rep.PinStatus != 202 || !rep.ReadOK {
			t.Fatalf("admin-group pin = %d %q, read ok %v", rep.PinStatus, rep.PinErr, rep.ReadOK)
		}
		if rep.ProfileStatus != http.StatusOK {
			t.Fatalf("profile as admin-group member = %d, want 200", rep.ProfileStatus)
		}
	})
	t.Run("outside the socket group cannot connect", func(t *testing.T) {
		rep := env.run(t, &syscall.Credential{Uid: 65533, Gid: 65533, Groups: []uint32{}})
		if !rep.ConnectErr || !strings.Contains(rep.StatsErr, "permission denied") || !strings.Contains(rep.StatsErr, "'nogroup' (gid 65534)") {
			t.Fatalf("stats as uid 65533 = %q, want a permission error naming group nogroup", rep.StatsErr)
		}
	})
}

// TestPeerCredentials checks the credentials read from a real connection
// against the connecting process, both from SO_PEERGROUPS and from /proc.
func TestPeerCredentials(t *testing.T) {
	env := newAuthEnv(t) // for its runnable test binary
	path := filepath.Join(env.dir, "peer.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	groups := []uint32{4, 100, adminGID}
	p, pid := env.connectAs(t, path, ln, groups)
	if p.Err != nil || p.PID != int32(pid) || p.UID != 65534 || p.GID != 65534 || p.GroupsFrom != groupsFromSockopt {
		t.Fatalf("peer = %+v, want pid %d uid/gid 65534 from SO_PEERGROUPS", p, pid)
	}
	if !slices.Equal(p.Groups, groups) {
		t.Fatalf("SO_PEERGROUPS = %v, want %v", p.Groups, groups)
	}
	// More groups than peerGroups' first buffer holds.
	many := make([]uint32, 200)
	for i := range many {
		many[i] = uint32(20000 + i)
	}
	if p, _ := env.connectAs(t, path, ln, many); p.Err != nil || !slices.Equal(p.Groups, many) {
		t.Fatalf("SO_PEERGROUPS with 200 groups = %d groups (%v), want 200", len(p.Groups), p.Err)
	}
}

// connectAs has a child (uid/gid 65534, groups) connect to ln and returns
// the peer credentials of that connection, read while the child still
// lives, with the /proc fallback checked against them.
func (e *authEnv) connectAs(t *testing.T, path string, ln net.Listener, groups []uint32) (Peer, int) {
	t.Helper()
	cmd := exec.Command(e.binary)
	cmd.Env = []string{envChild + "=connect", "MESHCACHE_API_TEST_SOCKET=" + path}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: groups}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("connecting child: %v: %s", err, stderr.String())
		}
	}()
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p := peerCred(conn.(*net.UnixConn))
	fromProc, err := procGroups(p.PID)
	if err != nil || !slices.Equal(fromProc, groups) {
		t.Fatalf("/proc/%d/status groups = %v, %v; want %v", p.PID, fromProc, err, groups)
	}
	return p, cmd.Process.Pid
}
