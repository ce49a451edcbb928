package origin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAllowlist(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"allowed/sub", "allowedx", "etc", "elsewhere"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{
		"allowed/out":   "../etc",     // leads out of the allowed root
		"allowed/in":    "sub",        // stays inside
		"alias":         "allowed",    // another name for the root
		"elsewhere/way": "../allowed", // outside name, inside target
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	op, _ := newOpener(t, func(c *Config) {
		c.Allow = []string{
			"http://h.example/data",
			"https://h2.example:8443/",
			"s3://bkt/prefix",
			"file://" + root + "/allowed",
			"http://[::1]:8080/v6",
		}
	})
	cases := []struct {
		url     string
		allowed bool
	}{
		{"http://h.example/data", true},
		{"http://h.example/data/", true},
		{"http://h.example/data/x/y", true},
		{"http://H.Example/data/x", true},              // host case
		{"http://h.example:80/data/x", true},           // default port
		{"http://user:pw@h.example/data/x", true},      // credentials do not matter
		{"http://h.example/data/./x", true},            // dot segment
		{"http://h.example/database", false},           // segment boundary
		{"http://h.example/dat", false},                // shorter
		{"http://h.example/", false},                   // parent
		{"http://h.example/data/../secret", false},     // climbs out
		{"http://h.example/data/%2e%2e/secret", false}, // escaped climb
		{"http://h.example:8080/data/x", false},        // other port
		{"https://h.example/data/x", false},            // other scheme
		{"http://other.example/data/x", false},         // other host
		{"https://h2.example:8443/anything", true},     // whole server
		{"https://h2.example/anything", false},         // 443 is not 8443
		{"http://[::1]:8080/v6/x", true},
		{"http://[::1]/v6/x", false},
		{"s3://bkt/prefix/sub", true},
		{"s3://bkt/prefix", true},
		{"s3://bkt/prefixes", false},
		{"s3://bkt/", false},
		{"s3://other/prefix", false},
		{"file://" + root + "/allowed/sub", true},
		{"file://" + root + "/allowed", true},
		{"file://" + root + "/allowed/in", true},       // symlink inside
		{"file://" + root + "/alias/sub", true},        // symlinked name of the root
		{"file://" + root + "/elsewhere/way", true},    // target inside
		{"file://localhost" + root + "/allowed", true}, // localhost host
		{"file://" + root + "/allowed/../etc", false},  // climbs out
		{"file://" + root + "/allowed/out", false},     // symlink out
		{"file://" + root + "/allowedx", false},        // segment boundary
		{"file://" + root + "/allowed/sub/../../etc", false},
		{"ftp://h.example/data", false},
		{"http://h.example/data?sig=1", false},   // queries are refused
		{"s3://key:s3cr3tKEY@bkt/prefix", false}, // credentials belong in config
		{"file://otherhost" + root + "/allowed", false},
		{"::not a url", false},
	}
	for _, c := range cases {
		o, err := op.Open(context.Background(), c.url)
		if c.allowed {
			if err != nil {
				t.Errorf("Open(%q) refused: %v", c.url, err)
				continue
			}
			if strings.Contains(o.URL(), "pw") || strings.Contains(o.URL(), "user") {
				t.Errorf("URL() %q shows credentials", o.URL())
			}
			continue
		}
		if !errors.Is(err, ErrNotAllowed) {
			t.Errorf("Open(%q) = %v, want ErrNotAllowed", c.url, err)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "pw@") {
			t.Errorf("refusal shows credentials: %v", err)
		}
	}
	_, err := op.Open(context.Background(), "http://h.example/database")
	requireKind(t, err, ErrNotAllowed, "--allow-origin", "http://h.example/database")
	// A missing path is "not found" inside the allowlist, and "not allowed"
	// outside it, so clients cannot probe which paths exist.
	_, err = op.Open(context.Background(), "file://"+root+"/allowed/missing")
	requireKind(t, err, ErrNotFound, root+"/allowed/missing")
	_, err = op.Open(context.Background(), "file://"+root+"/etc/missing")
	requireKind(t, err, ErrNotAllowed)
}

func TestEmptyAllowlistRefusesEverything(t *testing.T) {
	op, _ := newOpener(t, nil)
	for _, u := range []string{"file:///", "http://127.0.0.1/", "s3://bkt"} {
		_, err := op.Open(context.Background(), u)
		requireKind(t, err, ErrNotAllowed, "no origin is allowed", "start the daemon with --allow-origin URL_PREFIX")
	}
}

func TestURLIsCanonicalAndStable(t *testing.T) {
	root := t.TempDir()
	op, _ := newOpener(t, func(c *Config) { c.Allow = []string{"http://h/", "https://h/", "s3://b", "file://" + root} })
	cases := map[string]string{
		"http://H:80/a/./b/../c/":     "http://h/a/c",
		"http://u:p@h/a b/é":          "http://h/a%20b/%C3%A9",
		"https://h:443/":              "https://h/",
		"s3://b/p/":                   "s3://b/p",
		"s3://b":                      "s3://b",
		"file://" + root + "/":        "file://" + root,
		"file://localhost" + root:     "file://" + root,
		"http://h/a%2Fb":              "http://h/a/b",
		"http://h/data/../x/%2e%2e/y": "http://h/y",
	}
	for in, want := range cases {
		o := mustOpen(t, op, in)
		if o.URL() != want {
			t.Errorf("Open(%q).URL() = %q, want %q", in, o.URL(), want)
		}
		again := mustOpen(t, op, o.URL())
		if again.URL() != want {
			t.Errorf("URL() is not stable: %q then %q", want, again.URL())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative concurrency", Config{MaxConcurrent: -1}, "MaxConcurrent"},
		{"bad allow entry", Config{Allow: []string{"gopher://x"}}, "Allow entry"},
		{"credentials in allow entry", Config{Allow: []string{"http://u:p@h/"}}, "no credentials"},
		{"half S3 keys", Config{S3: S3Config{AccessKey: "AK"}}, "both an access key and a secret key"},
		{"bad endpoint", Config{S3: S3Config{Endpoint: "ftp://x"}}, "S3.Endpoint"},
		{"negative attempts", Config{Retry: RetryPolicy{MaxAttempts: -1}}, "MaxAttempts"},
		{"negative timeout", Config{Retry: RetryPolicy{StallTimeout: -1}}, "timeouts"},
	}
	for _, c := range cases {
		c.cfg.Getenv = func(string) string { return "" }
		_, err := NewOpener(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: NewOpener error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
}

func TestS3SettingsComeFromTheEnvironmentWhenUnset(t *testing.T) {
	env := map[string]string{
		"AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "SKENV",
		"AWS_REGION": "eu-west-3", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000",
	}
	cfg := Config{Getenv: func(k string) string { return env[k] }}.withDefaults()
	if s := cfg.S3; s.AccessKey != "AKENV" || s.SecretKey != "SKENV" || s.Region != "eu-west-3" || s.Endpoint != "http://127.0.0.1:9000" {
		t.Fatalf("S3 from env: %+v", s)
	}
	cfg = Config{S3: S3Config{AccessKey: "AKCFG", SecretKey: "SKCFG", Region: "r"}, Getenv: func(k string) string { return env[k] }}.withDefaults()
	if s := cfg.S3; s.AccessKey != "AKCFG" || s.SecretKey != "SKCFG" || s.Region != "r" {
		t.Fatalf("config must win over env: %+v", s)
	}
	cfg = Config{Getenv: func(string) string { return "" }}.withDefaults()
	if s := cfg.S3; s.Region != "us-east-1" || s.AccessKey != "" {
		t.Fatalf("defaults without env: %+v", s)
	}
}
