package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshcache/meshcache/mesh/auth"
)

func TestKeygen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.key")
	var out, errOut bytes.Buffer
	if code := Main([]string{"meshcache", "keygen", path}, &out, &errOut); code != 0 {
		t.Fatalf("keygen exit %d: %s", code, errOut.String())
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v, want 0600", st.Mode().Perm())
	}
	if _, err := auth.LoadKeys(path); err != nil {
		t.Fatalf("the key written does not load: %v", err)
	}
	before, _ := os.ReadFile(path)
	errOut.Reset()
	if code := Main([]string{"meshcache", "keygen", path}, &out, &errOut); code == 0 {
		t.Fatal("keygen overwrote an existing key")
	}
	if !strings.Contains(errOut.String(), "exists already") {
		t.Fatalf("refusal says %q", errOut.String())
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Fatal("the existing key changed")
	}
}
