package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/meshcache/meshcache/node"
	"github.com/meshcache/meshcache/origin"
)

func daemonCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "daemon",
		Usage: "run the meshcache daemon",
		Description: `Runs the daemon: the block store under --data, the API on --socket.
The daemon reads only origins on its allowlist (--allow-origin, repeatable).
S3 credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.`,
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "data", Usage: "data directory", EnvVars: []string{"MESHCACHE_DATA"}, Value: node.DefaultDataDir()},
			&ucli.StringSliceFlag{Name: "allow-origin", Usage: "origin URL prefix the daemon may read (repeatable), e.g. s3://bucket/datasets", EnvVars: []string{"MESHCACHE_ALLOW_ORIGIN"}},
			&ucli.StringFlag{Name: "socket-group", Usage: "group owning the socket (its members may read)"},
			&ucli.StringFlag{Name: "admin-group", Usage: "group whose members may publish, pin, unpin and gc"},
			&ucli.StringFlag{Name: "capacity", Usage: "store capacity, e.g. 800G or 2TiB (default: unlimited)"},
			&ucli.StringFlag{Name: "verify-reads", Usage: "when to re-verify blocks read: first (after each start) or always", Value: node.VerifyFirst},
			&ucli.StringFlag{Name: "s3-endpoint", Usage: "S3 endpoint URL (default $AWS_ENDPOINT_URL or AWS)", EnvVars: []string{"MESHCACHE_S3_ENDPOINT"}},
			&ucli.StringFlag{Name: "s3-region", Usage: "S3 region (default $AWS_REGION or us-east-1)"},
			&ucli.BoolFlag{Name: "s3-path-style", Usage: "address S3 buckets by path (MinIO, versitygw, on-premises servers)"},
			&ucli.StringSliceFlag{Name: "cluster-key", Usage: "cluster key `FILE` (from `meshcache keygen`); joins the peer-to-peer mesh. Repeat to accept an old and a new key while rotating", EnvVars: []string{"MESHCACHE_CLUSTER_KEY"}},
			&ucli.StringSliceFlag{Name: "listen", Usage: "libp2p listen multiaddr (repeatable; default all interfaces, QUIC and TCP, random ports)"},
			&ucli.StringSliceFlag{Name: "announce", Usage: "multiaddr to advertise instead of the listen addresses (repeatable)"},
			&ucli.StringSliceFlag{Name: "bootstrap", Usage: "full multiaddr (…/p2p/ID) of a member to join (repeatable)"},
			&ucli.StringFlag{Name: "bootstrap-file", Usage: "read bootstrap multiaddrs from `FILE`, one per line"},
			&ucli.StringFlag{Name: "region", Usage: "topology label: region", EnvVars: []string{"MESHCACHE_REGION"}},
			&ucli.StringFlag{Name: "zone", Usage: "topology label: zone"},
			&ucli.StringFlag{Name: "rack", Usage: "topology label: rack"},
			&ucli.BoolFlag{Name: "mdns", Usage: "find members on the local network by multicast DNS (off by default: it multicasts on every interface)"},
			&ucli.BoolFlag{Name: "cross-region", Usage: "fetch from holders in other regions before the origin when none of this region has a block"},
			&ucli.IntFlag{Name: "piece-blocks", Usage: "blocks per piece, the unit whose origin read one member of a region owns (default 64; must be the same on every member)"},
			&ucli.DurationFlag{Name: "progress-timeout", Usage: "how long a piece's owner may stay silent before the next member takes the piece over (default 10s)"},
			&ucli.StringFlag{Name: "log-level", Usage: "debug, info, warn or error", Value: "info"},
			&ucli.BoolFlag{Name: "log-json", Usage: "log JSON lines"},
			// For tests: how often the store re-verifies idle blocks
			// (negative: never; default a day).
			&ucli.DurationFlag{Name: "scrub-interval", Hidden: true},
		},
		Action: func(c *ucli.Context) error {
			cfg, err := daemonConfig(c)
			if err != nil {
				return err
			}
			n, err := node.New(cfg)
			if err != nil {
				return err
			}
			return n.Run(c.Context)
		},
	}
}

func daemonConfig(c *ucli.Context) (node.Config, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return node.Config{}, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if c.Bool("log-json") {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	capacity, err := parseSize(c.String("capacity"))
	if err != nil {
		return node.Config{}, fmt.Errorf("--capacity: %w", err)
	}
	var storeFS vfs.FS
	if spec := os.Getenv(node.FaultEnv); spec != "" {
		if storeFS, err = node.FaultFS(spec); err != nil {
			return node.Config{}, err
		}
	}
	mesh, err := meshConfig(c)
	if err != nil {
		return node.Config{}, err
	}
	return node.Config{
		Mesh:          mesh,
		StoreFS:       storeFS,
		DataDir:       c.String("data"),
		SocketPath:    daemonSocket(c),
		SocketGroup:   c.String("socket-group"),
		AdminGroup:    c.String("admin-group"),
		AllowOrigins:  c.StringSlice("allow-origin"),
		Capacity:      capacity,
		VerifyReads:   c.String("verify-reads"),
		ScrubInterval: c.Duration("scrub-interval"),
		S3: origin.S3Config{
			Endpoint:  c.String("s3-endpoint"),
			Region:    c.String("s3-region"),
			PathStyle: c.Bool("s3-path-style"),
		},
		Logger: slog.New(h),
	}, nil
}

// meshConfig reads the mesh flags; without --cluster-key the others are
// refused rather than silently ignored.
func meshConfig(c *ucli.Context) (node.MeshConfig, error) {
	m := node.MeshConfig{
		ClusterKeys:     c.StringSlice("cluster-key"),
		Listen:          c.StringSlice("listen"),
		Announce:        c.StringSlice("announce"),
		Bootstrap:       c.StringSlice("bootstrap"),
		Region:          c.String("region"),
		Zone:            c.String("zone"),
		Rack:            c.String("rack"),
		CrossRegion:     c.Bool("cross-region"),
		MDNS:            c.Bool("mdns"),
		PieceBlocks:     c.Int("piece-blocks"),
		ProgressTimeout: c.Duration("progress-timeout"),
	}
	if f := c.String("bootstrap-file"); f != "" {
		data, err := os.ReadFile(f)
		if err != nil {
			return m, fmt.Errorf("--bootstrap-file: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				m.Bootstrap = append(m.Bootstrap, line)
			}
		}
	}
	if m.PieceBlocks < 0 || m.ProgressTimeout < 0 {
		return m, errors.New("--piece-blocks and --progress-timeout must not be negative")
	}
	if len(m.ClusterKeys) == 0 {
		for _, f := range []string{"listen", "announce", "bootstrap", "bootstrap-file", "mdns", "cross-region", "piece-blocks", "progress-timeout"} {
			if c.IsSet(f) {
				return m, fmt.Errorf("--%s needs --cluster-key FILE: without a cluster key the daemon runs without the mesh (see `meshcache keygen`)", f)
			}
		}
	}
	return m, nil
}

// daemonSocket is where the daemon listens: --socket, else
// $MESHCACHE_SOCKET, else the default for this user.
func daemonSocket(c *ucli.Context) string {
	if p := socketPath(c); p != "" {
		return p
	}
	if p := os.Getenv(api.EnvSocket); p != "" {
		return p
	}
	return api.DefaultSocketPath()
}
