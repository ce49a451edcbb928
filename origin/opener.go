package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/semaphore"
)

// Opener opens origins on the allowlist. It keeps what Opens of the same
// origin share (HTTP and S3 clients, concurrency slots, byte counters), so
// opening an origin for every read is cheap. It is safe for concurrent use.
type Opener struct {
	cfg   Config
	allow allowlist
	log   *slog.Logger
	httpc *http.Client
	scrub scrubber

	mu     sync.Mutex
	slots  map[string]*semaphore.Weighted // by location.server()
	counts map[string]*atomic.Int64       // by origin URL
	s3     *minio.Client
	s3rt   http.RoundTripper
	warned map[string]bool
}

// OpenOption adjusts one Open.
type OpenOption func(*openOptions)

type openOptions struct{ files []string }

// WithFiles makes List return exactly these files (relative paths, each
// stat-ed for size, mtime and ETag) instead of discovering them: for HTTP
// servers without a JSON autoindex (the CLI's --files FILE; see
// ParseFileList). It works for every scheme.
func WithFiles(paths []string) OpenOption {
	return func(o *openOptions) { o.files = slices.Clone(paths) }
}

// NewOpener checks cfg (after applying defaults) and returns an Opener.
func NewOpener(cfg Config) (*Opener, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := &Opener{
		cfg:    cfg,
		log:    cfg.Logger.With("component", "origin"),
		slots:  map[string]*semaphore.Weighted{},
		counts: map[string]*atomic.Int64{},
		warned: map[string]bool{},
	}
	for _, a := range cfg.Allow {
		l, _ := parseAllowEntry(a) // checked by Validate
		o.allow = append(o.allow, l)
	}
	secrets := []string{cfg.S3.AccessKey, cfg.S3.SecretKey, cfg.S3.SessionToken}
	for _, vs := range cfg.HTTP.Header {
		secrets = append(secrets, vs...)
	}
	o.scrub = newScrubber(secrets...)
	o.httpc = o.newHTTPClient()
	return o, nil
}

// Open returns the origin at rawURL (file:///path, http(s)://host/prefix,
// s3://bucket/prefix) if the allowlist admits it. It refuses with an error
// wrapping ErrNotAllowed otherwise, and with ErrNotFound when a file://
// prefix does not exist. HTTP and S3 origins are opened without network
// I/O. Origins of file:// and s3:// also implement Writer.
func (o *Opener) Open(ctx context.Context, rawURL string, opts ...OpenOption) (Origin, error) {
	var oo openOptions
	for _, opt := range opts {
		opt(&oo)
	}
	l, err := parseLocation(rawURL)
	if err != nil {
		return nil, &Error{Kind: ErrNotAllowed, Origin: "(invalid URL)", Op: "open", Detail: "invalid origin URL: " + err.Error()}
	}
	resolved := l
	if l.scheme == "file" {
		if resolved, err = resolveRoot(l); err != nil {
			// Say "not found" only inside the allowlist: elsewhere that
			// would tell a client which paths exist.
			if o.allow.allows(l) {
				return nil, err
			}
			return nil, o.allow.refusal(l)
		}
	}
	if !o.allow.allows(resolved) {
		return nil, o.allow.refusal(l)
	}
	files, err := cleanFileList(oo.files)
	if err != nil {
		return nil, &Error{Kind: ErrNotAllowed, Origin: l.String(), Op: "open", Detail: "file list: " + err.Error()}
	}
	b := o.base(l)
	b.files = files
	switch l.scheme {
	case "file":
		return &fileOrigin{base: b, root: filepath.FromSlash(resolved.path)}, nil
	case "s3":
		c, err := o.s3Client()
		if err != nil {
			return nil, b.fail(ErrUnavailable, "open", "", "S3 client", err)
		}
		return &s3Origin{base: b, c: c, versions: o.cfg.S3.ListVersions}, nil
	}
	return &httpOrigin{base: b, o: o}, nil
}

// resolveRoot resolves a file:// prefix through symlinks; the allowlist and
// every later read use the real path.
func resolveRoot(l location) (location, error) {
	fail := func(err error) (location, error) {
		return location{}, &Error{Kind: ErrNotFound, Origin: l.String(), Op: "open", Err: err}
	}
	p, err := filepath.EvalSymlinks(filepath.FromSlash(l.path))
	if err != nil {
		return fail(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		return fail(err)
	}
	if !st.IsDir() {
		return fail(errors.New("not a directory"))
	}
	l.path = filepath.ToSlash(p)
	return l, nil
}

// cleanFileList validates, sorts and de-duplicates a WithFiles list.
func cleanFileList(files []string) ([]string, error) {
	for _, f := range files {
		if err := checkRel(f); err != nil {
			return nil, err
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// base returns the shared parts for an origin, creating them on first use.
func (o *Opener) base(l location) base {
	url := l.String()
	o.mu.Lock()
	defer o.mu.Unlock()
	slots := o.slots[l.server()]
	if slots == nil {
		slots = semaphore.NewWeighted(int64(o.cfg.MaxConcurrent))
		o.slots[l.server()] = slots
	}
	count := o.counts[url]
	if count == nil {
		count = new(atomic.Int64)
		o.counts[url] = count
	}
	secrets := o.scrub
	if l.user != nil {
		pw, _ := l.user.Password()
		secrets = append(newScrubber(l.user.Username(), pw), secrets...)
	}
	return base{
		loc: l, url: url, retry: o.cfg.Retry, log: o.log, slots: slots,
		width: o.cfg.MaxConcurrent, read: count, scrub: secrets,
	}
}

// warnOnce logs a warning the first time key is seen.
func (o *Opener) warnOnce(key, msg string, args ...any) {
	o.mu.Lock()
	seen := o.warned[key]
	o.warned[key] = true
	o.mu.Unlock()
	if !seen {
		o.log.Warn(msg, args...)
	}
}

// BytesRead returns the bytes of object data read from each origin so far
// (ranged reads, including bytes skipped because a server ignored Range;
// listings and metadata requests are not counted), keyed by origin URL
// without credentials.
func (o *Opener) BytesRead() map[string]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int64, len(o.counts))
	for u, c := range o.counts {
		out[u] = c.Load()
	}
	return out
}

// Close drops idle connections. Origins stay usable.
func (o *Opener) Close() error {
	o.httpc.CloseIdleConnections()
	o.mu.Lock()
	rt := o.s3rt
	o.mu.Unlock()
	if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
	return nil
}

// String describes the opener for logs.
func (o *Opener) String() string {
	return fmt.Sprintf("origin.Opener(%d allowed prefixes)", len(o.allow))
}
