package wan

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/meshcache/meshcache/internal/testenv"
)

// TestOpenTUNInNamespace: the TUN appears in the namespace asked for, not in
// the caller's, and goes away when its file is closed.
func TestOpenTUNInNamespace(t *testing.T) {
	testenv.RequireRoot(t)
	ns := fmt.Sprintf("mcewan%d", os.Getpid()%10000)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	f, err := OpenTUN("/run/netns/"+ns, "tuntest0")
	if err != nil {
		t.Fatal(err)
	}
	links := func(args ...string) string {
		out, err := exec.Command("ip", append(args, "-o", "link", "show")...).Output()
		if err != nil {
			t.Fatalf("ip link: %v", err)
		}
		return string(out)
	}
	if !strings.Contains(links("-n", ns), "tuntest0") {
		t.Errorf("tuntest0 missing in %s:\n%s", ns, links("-n", ns))
	}
	if strings.Contains(links(), "tuntest0") {
		t.Errorf("tuntest0 appeared in the caller's namespace")
	}
	f.Close()
	if strings.Contains(links("-n", ns), "tuntest0") {
		t.Errorf("tuntest0 still exists after its file closed")
	}
}
