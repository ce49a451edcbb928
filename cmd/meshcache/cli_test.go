package main

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
)

// commands are every meshcache subcommand.
var commands = []string{"daemon", "publish", "pin", "unpin", "ls", "cat", "get", "stat", "gc", "demo"}

// TestCLIHelp: --help works for the program and every command, after an
// argument too, and says how the socket is chosen.
func TestCLIHelp(t *testing.T) {
	cases := [][]string{{"--help"}, {"pin", "CID", "--help"}}
	for _, c := range commands {
		cases = append(cases, []string{c, "--help"})
	}
	for _, args := range cases {
		out := mustMC(t, nil, args...)
		want := "meshcache " + args[0]
		if args[0] == "--help" {
			want = "meshcache [global options] command"
		}
		if !strings.Contains(out, want) || !strings.Contains(out, "--socket") {
			t.Errorf("meshcache %s: help lacks %q or --socket:\n%s", strings.Join(args, " "), want, out)
		}
	}
}

// TestCLIErrors: usage mistakes and a missing daemon give one line on
// stderr, nothing on stdout and exit status 1.
func TestCLIErrors(t *testing.T) {
	root := "bafybeih3voljup55pjnaew3mav5masqxtxy5cend25ya36hv7o5lgmgseq"
	missing := filepath.Join(socketDir(t), "none.sock")
	type errCase struct {
		name string
		env  []string
		args []string
		want string
	}
	tests := []errCase{
		{"unknown flag after argument", nil, []string{"--socket", missing, "pin", root, "--bogus"}, "flag provided but not defined: -bogus"},
		{"unknown global flag", nil, []string{"--bogus", "ls"}, "flag provided but not defined: -bogus"},
		{"missing argument", nil, []string{"pin", "--socket", missing}, "pin takes 1 argument"},
		{"extra argument", nil, []string{"ls", "x", "--socket", missing}, "ls takes 0 argument"},
		{"bad CID", nil, []string{"pin", "not-a-cid", "--socket", missing}, `"not-a-cid" is not a CID`},
	}
	for _, c := range clientCommands(root, "file:///nowhere", t.TempDir()) {
		tests = append(tests,
			errCase{"no daemon/" + c[0], nil, append([]string{"--socket", missing}, c...), "cannot connect to meshcache daemon at " + missing},
			errCase{"no daemon via env/" + c[0], []string{"MESHCACHE_SOCKET=" + missing}, c, "cannot connect to meshcache daemon at " + missing})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := mc(t, tc.env, tc.args...)
			lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
			if code != 1 || out != "" || len(lines) != 1 || !strings.Contains(errOut, tc.want) || !strings.HasPrefix(errOut, "meshcache: ") {
				t.Errorf("meshcache %s: exit %d, stdout %q, stderr %q; want exit 1, no stdout, one line with %q",
					strings.Join(tc.args, " "), code, out, errOut, tc.want)
			}
		})
	}
}

// clientCommands are the commands that talk to a daemon, with arguments.
func clientCommands(root, origin, dir string) [][]string {
	return [][]string{
		{"ls"}, {"stat"}, {"gc"},
		{"publish", origin},
		{"pin", root, "--origin", origin, "--detach"},
		{"cat", root + "/README.md"},
		{"get", root + "/labels", dir},
		{"unpin", root},
	}
}

// smallDataset writes a few files for publish tests and returns them.
func smallDataset(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{"a.txt": "alpha\n", "sub/b.txt": strings.Repeat("b", 3000), "sub/deeper/c.bin": strings.Repeat("c", 2<<20+5), "zero": ""}
	for rel, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// treeOf reads every file under dir.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d files, want %d", what, len(got), len(want))
	}
	for p, w := range want {
		if g, ok := got[p]; !ok || g != w {
			t.Errorf("%s: %s missing or different (%d bytes, want %d)", what, p, len(g), len(w))
		}
	}
}

// TestCLI drives a real daemon through the command line as users type it.
func TestCLI(t *testing.T) {
	fx := getFixture(t)
	ng := testenv.StartNginx(t, fx.dir)
	small, smallFiles := smallDataset(t)
	opts := daemonOpts{data: filepath.Join(t.TempDir(), "data"), sock: filepath.Join(socketDir(t), "s"), allow: []string{ng.URL(), "file://" + small}}
	d := startDaemon(t, opts)
	sock := []string{"--socket", opts.sock}
	root := fx.root.String()

	// publish prints the bare root CID as the last line of stdout.
	out := mustMC(t, nil, "publish", "file://"+small, "--socket", opts.sock)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	smallRoot, err := cid.Decode(lines[len(lines)-1])
	if err != nil {
		t.Fatalf("publish printed %q: the last line is not a CID: %v", out, err)
	}

	// pin --detach returns as soon as the pin is accepted.
	start := time.Now()
	out = mustMC(t, nil, append(sock, "pin", root, "--origin", ng.URL(), "--detach")...)
	if f := strings.Fields(out); len(f) != 2 || f[0] != root || f[1] == string(api.PinPinned) {
		t.Errorf("pin --detach printed %q, want %q and a state before pinned", out, root+" queued")
	}
	t.Logf("pin --detach returned in %v", time.Since(start).Round(time.Millisecond))
	// The flag after the argument is honoured; pin waits and reports.
	out = mustMC(t, nil, "pin", root, "--origin", ng.URL(), "--socket", opts.sock)
	if !strings.HasPrefix(out, "pinned "+root) {
		t.Errorf("pin printed %q", out)
	}
	checkFiles(t, d.client, fx)

	// Every client command works with --socket before the command, after
	// its arguments, and with MESHCACHE_SOCKET (which a flag overrides).
	bogusEnv := []string{"MESHCACHE_SOCKET=" + filepath.Join(socketDir(t), "none.sock")}
	forms := []struct {
		name string
		env  []string
		args func(c []string) []string
	}{
		{"flag before command", bogusEnv, func(c []string) []string { return append(append([]string{}, sock...), c...) }},
		{"flag after arguments", bogusEnv, func(c []string) []string { return append(append([]string{}, c...), sock...) }},
		{"environment", []string{"MESHCACHE_SOCKET=" + opts.sock}, func(c []string) []string { return c }},
	}
	for _, f := range forms {
		dest := t.TempDir()
		for _, c := range clientCommands(root, ng.URL(), dest) {
			if c[0] == "unpin" || c[0] == "publish" {
				continue // below, once
			}
			out, errOut, code := mc(t, f.env, f.args(c)...)
			if code != 0 {
				t.Errorf("%s: meshcache %s: exit %d: %s", f.name, strings.Join(c, " "), code, errOut)
				continue
			}
			checkOutput(t, fx, c, out, dest)
		}
		out := mustMC(t, f.env, f.args([]string{"publish", "file://" + small})...)
		if !strings.HasSuffix(out, smallRoot.String()+"\n") {
			t.Errorf("%s: publish printed %q", f.name, out)
		}
	}

	// get copies a whole dataset.
	dest := filepath.Join(t.TempDir(), "copy")
	mustMC(t, nil, append(sock, "get", smallRoot.String(), dest)...)
	sameTree(t, "get "+smallRoot.String(), treeOf(t, dest), smallFiles)

	// unpin, then gc removes the dataset's blocks.
	mustMC(t, nil, append(sock, "unpin", root)...)
	if out := mustMC(t, nil, append(sock, "ls")...); strings.Contains(out, root) {
		t.Errorf("ls after unpin still lists %s:\n%s", root, out)
	}
	out = mustMC(t, nil, append(sock, "gc")...)
	if !strings.HasPrefix(out, "removed ") || strings.HasPrefix(out, "removed 0 blocks") {
		t.Errorf("gc after unpin printed %q, want blocks removed", out)
	}
	d.term(5 * time.Second)
}

// checkOutput checks what a client command printed against the fixture.
func checkOutput(t *testing.T, fx *fixture, c []string, out, dest string) {
	t.Helper()
	root := fx.root.String()
	switch c[0] {
	case "ls":
		if !strings.Contains(out, "CID") || !strings.Contains(out, root+"  pinned") {
			t.Errorf("ls printed:\n%s", out)
		}
	case "stat":
		if !strings.Contains(out, "pins:     1 (1 pinned") || !strings.Contains(out, "corrupt:  0") {
			t.Errorf("stat printed:\n%s", out)
		}
	case "gc":
		if !strings.HasPrefix(out, "removed ") {
			t.Errorf("gc printed %q", out)
		}
	case "pin":
		if out != root+" pinned\n" {
			t.Errorf("pin --detach of a pinned dataset printed %q", out)
		}
	case "cat":
		want, err := os.ReadFile(filepath.Join(fx.dir, "README.md"))
		if err != nil || !bytes.Equal([]byte(out), want) {
			t.Errorf("cat printed %d bytes that differ from README.md (%v)", len(out), err)
		}
	case "get":
		want := map[string]string{}
		for _, p := range fx.paths() {
			if rel, ok := strings.CutPrefix(p, "labels/"); ok {
				b, err := os.ReadFile(filepath.Join(fx.dir, filepath.FromSlash(p)))
				if err != nil {
					t.Fatal(err)
				}
				want[rel] = string(b)
			}
		}
		sameTree(t, "get "+root+"/labels", treeOf(t, dest), want)
	}
}

// TestDemo: `meshcache demo` runs end to end and exits 0.
func TestDemo(t *testing.T) {
	out := mustMC(t, nil, "demo")
	if !strings.Contains(out, "verified:") {
		t.Errorf("demo printed:\n%s", out)
	}
}

// TestDaemonFromEnvironment: the daemon takes its data directory and
// socket from MESHCACHE_DATA and MESHCACHE_SOCKET, as clients do.
func TestDaemonFromEnvironment(t *testing.T) {
	opts := daemonOpts{data: filepath.Join(t.TempDir(), "data"), sock: filepath.Join(socketDir(t), "s"), viaEnv: true}
	d := startDaemon(t, opts)
	out := mustMC(t, []string{"MESHCACHE_SOCKET=" + opts.sock}, "stat")
	if !strings.Contains(out, "store:    0 blocks") {
		t.Errorf("stat printed:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(opts.data, "blocks")); err != nil {
		t.Errorf("the daemon did not use MESHCACHE_DATA: %v", err)
	}
	d.term(5 * time.Second)
}
