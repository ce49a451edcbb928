package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Listen creates the API's unix socket at path with the given mode and
// group (gid < 0 leaves the group alone). It creates the parent directory
// (0755) when missing and removes a stale socket left by a crash, but never
// a socket something still listens on, nor anything that is not a socket.
//
// The socket is bound in a private directory, given its mode and group, and
// only then renamed into place, so no one can connect while it still has
// the default permissions. Closing the listener removes the socket.
func Listen(path string, mode os.FileMode, gid int) (net.Listener, error) {
	if path == "" {
		return nil, errors.New("listen: empty socket path")
	}
	dir := filepath.Dir(path)
	if err := ensureSocketDir(dir); err != nil {
		return nil, err
	}
	if err := removeStaleSocket(path); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(dir, ".meshcache-sock-")
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	defer os.RemoveAll(tmp)
	ul, err := bindPrivate(filepath.Join(tmp, "s"), mode, gid)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Rename(filepath.Join(tmp, "s"), path); err != nil {
		ul.Close()
		return nil, fmt.Errorf("listen on %s: move socket into place: %w", path, err)
	}
	st, err := os.Lstat(path)
	if err != nil {
		ul.Close()
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	return &socketListener{UnixListener: ul, path: path, st: st}, nil
}

func bindPrivate(tmpPath string, mode os.FileMode, gid int) (*net.UnixListener, error) {
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpPath, Net: "unix"})
	if err != nil {
		return nil, err
	}
	// The socket file moves away from tmpPath; its removal is ours.
	ul.SetUnlinkOnClose(false)
	if err := os.Chmod(tmpPath, mode.Perm()); err != nil {
		ul.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	if gid >= 0 {
		if err := os.Lchown(tmpPath, -1, gid); err != nil {
			ul.Close()
			return nil, fmt.Errorf("give socket to gid %d: %w", gid, err)
		}
	}
	return ul, nil
}

// ensureSocketDir creates dir 0755 when missing, and refuses a directory
// that someone else could swap the socket in.
func ensureSocketDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create socket directory: %w", err)
		}
		// MkdirAll's mode is filtered by the umask; the socket's readers
		// must be able to reach it.
		return os.Chmod(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("socket directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("socket directory %s is not a directory", dir)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if ok && st.Mode().Perm()&0o002 != 0 && st.Mode()&os.ModeSticky == 0 {
		return fmt.Errorf("socket directory %s is writable by everyone (mode %v): anyone could replace the socket", dir, st.Mode().Perm())
	}
	if ok && sys.Uid != 0 && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("socket directory %s belongs to uid %d, not to this daemon (uid %d) or root", dir, sys.Uid, os.Getuid())
	}
	return nil
}

// removeStaleSocket removes a socket at path that nothing listens on.
func removeStaleSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listen on %s: %w", path, err)
	}
	if st.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("listen on %s: the path exists and is not a socket (%v); remove it or choose another path", path, st.Mode().Type())
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("listen on %s: another process is listening on it (is a meshcache daemon already running?)", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("listen on %s: cannot tell whether the existing socket is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("listen on %s: remove stale socket: %w", path, err)
	}
	return nil
}

// socketListener removes its socket on Close, unless another process has
// replaced it since.
type socketListener struct {
	*net.UnixListener
	path string
	st   os.FileInfo
}

func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	if now, serr := os.Lstat(l.path); serr == nil && os.SameFile(now, l.st) {
		if rerr := os.Remove(l.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}
