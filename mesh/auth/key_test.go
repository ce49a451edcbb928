package auth_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/auth"
)

func TestGenerateAndLoad(t *testing.T) {
	dir := t.TempDir()
	a, b := meshtest.WriteKey(t, dir, "a"), meshtest.WriteKey(t, dir, "b")
	ks, err := auth.LoadKeys(b, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].ID() == ks[1].ID() {
		t.Fatalf("keys %v", ks)
	}
	again, err := auth.LoadKeys(b)
	if err != nil || again[0].ID() != ks[0].ID() {
		t.Fatalf("reload: %v, %v", again, err)
	}
	raw, _ := os.ReadFile(a)
	if !strings.HasPrefix(string(raw), "meshcache-cluster-key v1\n") {
		t.Fatalf("key file %q", raw)
	}
}

func TestLoadKeysErrors(t *testing.T) {
	dir := t.TempDir()
	good := meshtest.WriteKey(t, dir, "good")
	bad := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name  string
		paths []string
	}{
		{"none", nil},
		{"missing", []string{filepath.Join(dir, "nope")}},
		{"duplicate", []string{good, good}},
		{"no header", []string{bad("nohdr", "AAAA\n")}},
		{"short key", []string{bad("short", "meshcache-cluster-key v1\nAAAA\n")}},
		{"not base64", []string{bad("b64", "meshcache-cluster-key v1\n!!!!\n")}},
		{"extra line", []string{bad("extra", "meshcache-cluster-key v1\nAAAA\nAAAA\n")}},
		{"too many", []string{good, good, good, good, good, good, good, good, good}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := auth.LoadKeys(tc.paths...); err == nil {
				t.Fatal("LoadKeys accepted it")
			}
		})
	}
}
