package vfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestDirectFallback: where the file system refuses the direct write's
// alignment, writeBuffered writes the whole content through the page cache.
func TestDirectFallback(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	f, err := OS{}.CreateDirect(p)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := f.(*directFile)
	if !ok {
		t.Skipf("%T: this file system refuses O_DIRECT altogether", f)
	}
	data := bytes.Repeat([]byte("meshcache"), 1000)       // 9,000 bytes: unaligned
	if _, err := d.writeDirect(data[:4096]); err != nil { // a first, partial attempt
		t.Fatal(err)
	}
	if n, err := d.writeBuffered(data); err != nil || n != len(data) {
		t.Fatalf("buffered write: %d, %v", n, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), want the %d written", len(got), err, len(data))
	}
}
