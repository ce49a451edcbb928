package origin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Config configures an Opener. The zero value of every field but Allow has a
// working default; an empty Allow refuses every origin.
type Config struct {
	// Allow lists the URL prefixes that may be opened ("--allow-origin"):
	// file:///data, https://host/datasets, s3://bucket/prefix. Matching is by
	// scheme, host and port, then path on segment boundaries; file:// paths
	// are compared after resolving symlinks. Entries carry no credentials.
	Allow []string
	S3    S3Config
	HTTP  HTTPConfig
	Retry RetryPolicy
	// MaxConcurrent bounds the requests in flight to one origin server (an
	// HTTP scheme://host:port, an S3 bucket, a file:// origin), each held
	// until its body is consumed or closed. Default 16.
	MaxConcurrent int
	// Logger receives retries and warnings; default slog.Default().
	Logger *slog.Logger
	// Getenv reads the AWS_* environment variables used when S3 fields are
	// empty; default os.Getenv.
	Getenv func(string) string
}

// S3Config says how to reach S3. Empty fields come from the standard AWS
// environment variables when set.
type S3Config struct {
	// Endpoint is "https://host[:port]", "http://host[:port]" or
	// "host[:port]" (HTTPS). Default $AWS_ENDPOINT_URL, else s3.amazonaws.com.
	Endpoint string
	// Region: default $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1.
	Region string
	// PathStyle addresses buckets as endpoint/bucket rather than
	// bucket.endpoint (MinIO, versitygw, most on-premises servers).
	PathStyle bool
	// AccessKey, SecretKey, SessionToken: default $AWS_ACCESS_KEY_ID,
	// $AWS_SECRET_ACCESS_KEY, $AWS_SESSION_TOKEN. With no keys at all,
	// requests are anonymous.
	AccessKey    string
	SecretKey    string
	SessionToken string
	// ListVersions lists with ListObjectVersions instead of ListObjectsV2,
	// so each file's versionId is recorded at publish: on a versioned
	// bucket, reads then fetch the published version even after the object
	// is overwritten. Leave it off for servers without versioning.
	ListVersions bool
}

// HTTPConfig tunes HTTP(S) origins.
type HTTPConfig struct {
	// Header is added to every request (for example Authorization). Its
	// values are treated as secrets: they never appear in errors or logs.
	Header http.Header
	// Transport replaces the default transport (a clone of
	// http.DefaultTransport, which honours HTTP(S)_PROXY).
	Transport http.RoundTripper
	// MaxSkip bounds how many bytes are read and discarded to reach an
	// offset when a server ignores Range and sends the whole object. Reads
	// further in fail with ErrBadResponse. Default 16 MiB; negative never
	// skips.
	MaxSkip int64
}

// RetryPolicy bounds retries of transient failures (timeouts, refused or
// reset connections, 5xx, S3 SlowDown). Delays grow exponentially with full
// jitter: attempt n waits a uniform random time in [0, min(MaxDelay,
// BaseDelay·2ⁿ)).
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries. Default 5.
	MaxAttempts int
	// BaseDelay default 200 ms, MaxDelay default 10 s.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// AttemptTimeout bounds one attempt up to the response headers (for
	// file://, the open and stat). Default 30 s.
	AttemptTimeout time.Duration
	// StallTimeout bounds a pause while a body is read: a read that gets no
	// byte for this long fails with ErrTimeout. Default 60 s.
	StallTimeout time.Duration
	// Sleep waits between attempts; default a timer that honours ctx.
	// Tests inject their own to run fast or to observe the delays.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Defaults.
const (
	DefaultMaxConcurrent  = 16
	DefaultMaxSkip        = 16 << 20
	DefaultMaxAttempts    = 5
	DefaultBaseDelay      = 200 * time.Millisecond
	DefaultMaxDelay       = 10 * time.Second
	DefaultAttemptTimeout = 30 * time.Second
	DefaultStallTimeout   = 60 * time.Second
)

// withDefaults fills zero fields, reading the environment for S3.
func (c Config) withDefaults() Config {
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.HTTP.MaxSkip == 0 {
		c.HTTP.MaxSkip = DefaultMaxSkip
	}
	c.Retry = c.Retry.withDefaults()
	c.S3 = c.S3.withEnv(c.Getenv)
	return c
}

func (r RetryPolicy) withDefaults() RetryPolicy {
	if r.MaxAttempts == 0 {
		r.MaxAttempts = DefaultMaxAttempts
	}
	if r.BaseDelay == 0 {
		r.BaseDelay = DefaultBaseDelay
	}
	if r.MaxDelay == 0 {
		r.MaxDelay = DefaultMaxDelay
	}
	if r.AttemptTimeout == 0 {
		r.AttemptTimeout = DefaultAttemptTimeout
	}
	if r.StallTimeout == 0 {
		r.StallTimeout = DefaultStallTimeout
	}
	if r.Sleep == nil {
		r.Sleep = sleepCtx
	}
	return r
}

func (s S3Config) withEnv(getenv func(string) string) S3Config {
	first := func(v string, envs ...string) string {
		for _, e := range envs {
			if v != "" {
				break
			}
			v = getenv(e)
		}
		return v
	}
	s.Endpoint = first(s.Endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	s.Region = first(s.Region, "AWS_REGION", "AWS_DEFAULT_REGION")
	if s.Region == "" {
		s.Region = "us-east-1"
	}
	if s.AccessKey == "" && s.SecretKey == "" {
		s.AccessKey = getenv("AWS_ACCESS_KEY_ID")
		s.SecretKey = getenv("AWS_SECRET_ACCESS_KEY")
		s.SessionToken = first(s.SessionToken, "AWS_SESSION_TOKEN")
	}
	return s
}

// Validate says which field is wrong. NewOpener calls it after applying
// defaults.
func (c Config) Validate() error {
	if c.MaxConcurrent < 0 {
		return fmt.Errorf("origin config: MaxConcurrent %d is negative", c.MaxConcurrent)
	}
	if err := c.Retry.Validate(); err != nil {
		return err
	}
	for _, a := range c.Allow {
		if _, err := parseAllowEntry(a); err != nil {
			return fmt.Errorf("origin config: Allow entry: %w", err)
		}
	}
	if (c.S3.AccessKey == "") != (c.S3.SecretKey == "") {
		return errors.New("origin config: S3 needs both an access key and a secret key, or neither")
	}
	if c.S3.Endpoint != "" {
		if _, _, err := s3Endpoint(c.S3.Endpoint); err != nil {
			return fmt.Errorf("origin config: S3.Endpoint: %w", err)
		}
	}
	return nil
}

// Validate says which field is wrong.
func (r RetryPolicy) Validate() error {
	switch {
	case r.MaxAttempts < 0:
		return fmt.Errorf("origin config: Retry.MaxAttempts %d is negative", r.MaxAttempts)
	case r.BaseDelay < 0, r.MaxDelay < 0:
		return errors.New("origin config: Retry delays must not be negative")
	case r.AttemptTimeout < 0, r.StallTimeout < 0:
		return errors.New("origin config: Retry timeouts must not be negative")
	}
	return nil
}

// s3Endpoint splits an endpoint into host[:port] and whether to use TLS.
func s3Endpoint(ep string) (host string, secure bool, err error) {
	if !strings.Contains(ep, "://") {
		ep = "https://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil {
		return "", false, fmt.Errorf("endpoint is not a URL: %v", unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, fmt.Errorf("endpoint scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.User != nil {
		return "", false, errors.New("endpoint must be scheme://host[:port] with no path or credentials")
	}
	return u.Host, u.Scheme == "https", nil
}

// sleepCtx waits d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
