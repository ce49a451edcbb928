package vfs_test

import (
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/meshcache/meshcache/blockstore/vfs"
)

func writeFile(t *testing.T, f vfs.FS, name, data string, sync bool) {
	t.Helper()
	w, err := f.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func readFile(f vfs.FS, name string) (string, error) {
	r, err := f.Open(name)
	if err != nil {
		return "", err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	return string(b), err
}

func TestMemCrash(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, m *vfs.MemFS)
		want  map[string]string // path -> content after crash; "" content means absent
	}{
		{"synced file and dir entry survive", func(t *testing.T, m *vfs.MemFS) {
			writeFile(t, m, "/d/a", "hello", true)
			m.SyncDir("/d")
		}, map[string]string{"/d/a": "hello"}},
		{"unsynced dir entry is lost", func(t *testing.T, m *vfs.MemFS) {
			writeFile(t, m, "/d/a", "hello", true)
		}, map[string]string{"/d/a": ""}},
		{"unsynced data is lost, entry kept", func(t *testing.T, m *vfs.MemFS) {
			writeFile(t, m, "/d/a", "hello", false)
			m.SyncDir("/d")
		}, map[string]string{"/d/a": "<empty>"}},
		{"rename without dir sync reverts", func(t *testing.T, m *vfs.MemFS) {
			writeFile(t, m, "/d/t", "x", true)
			m.SyncDir("/d")
			m.Rename("/d/t", "/d/b")
		}, map[string]string{"/d/t": "x", "/d/b": ""}},
		{"rename then dir sync persists", func(t *testing.T, m *vfs.MemFS) {
			writeFile(t, m, "/d/t", "x", true)
			m.Rename("/d/t", "/d/b")
			m.SyncDir("/d")
		}, map[string]string{"/d/t": "", "/d/b": "x"}},
		{"unsynced mkdir is lost", func(t *testing.T, m *vfs.MemFS) {
			m.MkdirAll("/e/f", 0o755)
			m.SyncDir("/e")
		}, map[string]string{"/e": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := vfs.NewMem()
			if err := m.MkdirAll("/d", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := m.SyncDir("/"); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, m)
			clone := m.CrashClone()
			m.Crash()
			for _, fsys := range []vfs.FS{m, clone} {
				for p, want := range tt.want {
					got, err := readFile(fsys, p)
					if want == "" {
						if !errors.Is(err, fs.ErrNotExist) {
							t.Errorf("%s: want absent, got %q, %v", p, got, err)
						}
						continue
					}
					if want == "<empty>" {
						want = ""
					}
					if err != nil || got != want {
						t.Errorf("%s: got %q, %v; want %q", p, got, err, want)
					}
				}
			}
		})
	}
}

func TestMemHandleAfterCrash(t *testing.T) {
	m := vfs.NewMem()
	f, err := m.Create("/a")
	if err != nil {
		t.Fatal(err)
	}
	m.Crash()
	if _, err := f.Write([]byte("x")); !errors.Is(err, vfs.ErrCrashed) {
		t.Fatalf("write after crash: %v, want ErrCrashed", err)
	}
}

// TestFSSemantics runs the same operations on OS and MemFS.
func TestFSSemantics(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) (vfs.FS, string){
		"os":  func(t *testing.T) (vfs.FS, string) { return vfs.OS{}, t.TempDir() },
		"mem": func(t *testing.T) (vfs.FS, string) { return vfs.NewMem(), "/root" },
	} {
		t.Run(name, func(t *testing.T) {
			fsys, dir := mk(t)
			sub := filepath.Join(dir, "s")
			if err := fsys.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			a := filepath.Join(sub, "a")
			writeFile(t, fsys, a, "abc", true)
			if _, err := fsys.Create(a); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("create existing: %v, want ErrExist", err)
			}
			f, err := fsys.Open(a)
			if err != nil {
				t.Fatal(err)
			}
			b := filepath.Join(sub, "b")
			if err := fsys.Rename(a, b); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 3)
			if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != "abc" {
				t.Fatalf("read renamed open file: %q %v", buf, err)
			}
			f.Close()
			if err := fsys.SyncDir(sub); err != nil {
				t.Fatal(err)
			}
			ents, err := fsys.ReadDir(sub)
			if err != nil || len(ents) != 1 || ents[0].Name() != "b" {
				t.Fatalf("readdir: %v %v", ents, err)
			}
			st, err := fsys.Stat(b)
			if err != nil || st.Size() != 3 {
				t.Fatalf("stat: %v %v", st, err)
			}
			if err := fsys.Remove(b); err != nil {
				t.Fatal(err)
			}
			if _, err := fsys.Stat(b); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("stat removed: %v", err)
			}
		})
	}
}
