package api

import (
	"fmt"
	"os"
	"path/filepath"
)

// EnvSocket names the environment variable that overrides the socket path.
const EnvSocket = "MESHCACHE_SOCKET"

// SystemSocketPath is the socket of a daemon run by root.
const SystemSocketPath = "/run/meshcache/meshcache.sock"

// DefaultSocketPath is where a daemon run by this user listens:
// /run/meshcache/meshcache.sock for root, else
// $XDG_RUNTIME_DIR/meshcache/meshcache.sock, else
// /tmp/meshcache-$UID/meshcache.sock.
func DefaultSocketPath() string {
	uid := os.Getuid()
	if uid == 0 {
		return SystemSocketPath
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		return filepath.Join(dir, "meshcache", "meshcache.sock")
	}
	// Not os.TempDir: $TMPDIR may differ between the daemon and its clients.
	return filepath.Join("/tmp", fmt.Sprintf("meshcache-%d", uid), "meshcache.sock")
}

// clientSocketPath is the socket a client uses when none is set: $EnvSocket,
// else this user's own daemon, else (when the user has none) the system
// daemon, which is what a training job run by an ordinary user reads from.
func clientSocketPath() string {
	if p := os.Getenv(EnvSocket); p != "" {
		return p
	}
	own := DefaultSocketPath()
	if own == SystemSocketPath {
		return own
	}
	if _, err := os.Stat(own); err != nil {
		if _, err := os.Stat(SystemSocketPath); err == nil {
			return SystemSocketPath
		}
	}
	return own
}
