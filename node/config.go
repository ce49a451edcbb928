package node

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/origin"
)

// VerifyReads values.
const (
	VerifyFirst  = "first"  // verify a block the first time it is served after each start
	VerifyAlways = "always" // verify every read
)

// Config is the daemon's configuration. The zero value of every field but
// DataDir and SocketPath has a working default; DefaultConfig fills those
// too.
type Config struct {
	// DataDir holds the block store, pins and dataset indexes.
	DataDir string
	// SocketPath is the unix socket of the API.
	SocketPath string
	// SocketGroup owns the socket (name or numeric gid; "" keeps the
	// daemon's group). Members may read; the socket is mode 0660.
	SocketGroup string
	// AdminGroup's members may publish, pin, unpin and collect garbage
	// (name or gid; "" means only root and the daemon's own uid).
	AdminGroup string
	// AllowOrigins are the origin URL prefixes the daemon may read. With
	// none, every origin is refused.
	AllowOrigins []string
	S3           origin.S3Config
	// Capacity caps the block store in bytes (0: unlimited).
	Capacity int64
	// VerifyReads is VerifyFirst (default) or VerifyAlways.
	VerifyReads string
	// ScrubInterval is how often the store re-verifies idle blocks
	// (0: the store's default, a day; negative: never).
	ScrubInterval time.Duration
	// FetchBatch is about how many MiB one fetch asks a source for
	// (prefetch's Batch; 0: its default, 16).
	FetchBatch int
	Logger     *slog.Logger

	// Mesh joins the daemon to a cluster; off without cluster keys.
	Mesh MeshConfig

	// StoreFS replaces the block store's file system (fault injection in
	// tests); nil is the real one.
	StoreFS vfs.FS
}

// DefaultDataDir is /var/lib/meshcache for root, else
// $XDG_DATA_HOME/meshcache or ~/.local/share/meshcache.
func DefaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/meshcache"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "meshcache")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), fmt.Sprintf("meshcache-%d", os.Getuid()), "data")
	}
	return filepath.Join(home, ".local", "share", "meshcache")
}

// Validate says which field is wrong.
func (c *Config) Validate() error {
	switch {
	case c.DataDir == "":
		return errors.New("node config: DataDir is empty (--data or MESHCACHE_DATA)")
	case c.SocketPath == "":
		return errors.New("node config: SocketPath is empty (--socket or MESHCACHE_SOCKET)")
	case c.Capacity < 0:
		return fmt.Errorf("node config: Capacity %d is negative", c.Capacity)
	case c.VerifyReads != "" && c.VerifyReads != VerifyFirst && c.VerifyReads != VerifyAlways:
		return fmt.Errorf("node config: VerifyReads %q: want %q or %q", c.VerifyReads, VerifyFirst, VerifyAlways)
	}
	if _, err := lookupGroup(c.SocketGroup); err != nil {
		return fmt.Errorf("node config: SocketGroup: %w", err)
	}
	if _, err := lookupGroup(c.AdminGroup); err != nil {
		return fmt.Errorf("node config: AdminGroup: %w", err)
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.VerifyReads == "" {
		c.VerifyReads = VerifyFirst
	}
}

// lookupGroup resolves a group name or numeric gid; "" gives nil.
func lookupGroup(g string) (*api.Group, error) {
	if g == "" {
		return nil, nil
	}
	if gid, err := strconv.ParseUint(g, 10, 32); err == nil {
		name := g
		if grp, err := user.LookupGroupId(g); err == nil {
			name = grp.Name
		}
		return &api.Group{Name: name, GID: uint32(gid)}, nil
	}
	grp, err := user.LookupGroup(g)
	if err != nil {
		return nil, fmt.Errorf("no group %q: %w", g, err)
	}
	gid, err := strconv.ParseUint(grp.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("group %q has gid %q: %w", g, grp.Gid, err)
	}
	return &api.Group{Name: grp.Name, GID: uint32(gid)}, nil
}
