package vfs

import (
	"errors"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrCrashed is returned by a file handle opened before MemFS.Crash.
var ErrCrashed = errors.New("file handle from before a simulated crash")

// MemFS is an in-memory FS that remembers what was made durable: a file's
// data as of its last Sync, and a directory's entries as of its last SyncDir
// (a Syncer's Sync does both for every file and directory at once).
// Crash and CrashClone drop everything else, as a power cut would (SIGKILL
// alone keeps the page cache and so never tests durability). Files are
// inodes: a rename or remove never changes the data an open handle sees.
type MemFS struct {
	mu   sync.Mutex
	root *memNode
	gen  uint64 // bumped by Crash; handles from older generations fail
}

type memNode struct {
	dir     bool
	modTime time.Time
	// file
	data   []byte
	synced []byte
	// dir
	children       map[string]*memNode
	syncedChildren map[string]*memNode
	// dirty: data or children changed since they were last made durable,
	// so a file-system sync need not copy what did not change.
	dirty bool
}

var _ FS = (*MemFS)(nil)

// NewMem returns an empty in-memory file system whose root directory exists.
func NewMem() *MemFS {
	return &MemFS{root: newDirNode()}
}

func newDirNode() *memNode {
	return &memNode{dir: true, modTime: time.Now(),
		children: map[string]*memNode{}, syncedChildren: map[string]*memNode{}}
}

// Crash drops, in place, every unsynced file byte and directory entry.
// Handles opened before it fail with ErrCrashed. The caller must have stopped
// the previous user of the FS (a store abandoned mid-operation may still call
// FS methods that are not bound to a handle); use CrashClone for that case.
func (m *MemFS) Crash() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.root = m.root.durableClone()
	m.gen++
}

// CrashClone returns a new MemFS holding exactly what was durable at the
// moment of the call. The receiver keeps working, so a store still running on
// it cannot disturb the clone.
func (m *MemFS) CrashClone() *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &MemFS{root: m.root.durableClone()}
}

// durableClone copies what survives a power cut. Inodes reached through
// several synced entries stay shared, as hard links would.
func (n *memNode) durableClone() *memNode {
	return n.cloneWith(map[*memNode]*memNode{})
}

func (n *memNode) cloneWith(seen map[*memNode]*memNode) *memNode {
	if c, ok := seen[n]; ok {
		return c
	}
	c := &memNode{dir: n.dir, modTime: n.modTime}
	seen[n] = c
	if !n.dir {
		c.data = slices.Clone(n.synced)
		c.synced = slices.Clone(n.synced)
		return c
	}
	c.children = make(map[string]*memNode, len(n.syncedChildren))
	for name, child := range n.syncedChildren {
		c.children[name] = child.cloneWith(seen)
	}
	c.syncedChildren = maps.Clone(c.children)
	return c
}

func splitPath(name string) []string {
	clean := strings.Trim(filepath.ToSlash(filepath.Clean(name)), "/")
	if clean == "" || clean == "." {
		return nil
	}
	return strings.Split(clean, "/")
}

// lookupParent returns the directory holding name and name's last element.
func (m *MemFS) lookupParent(op, name string) (*memNode, string, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	dir := m.root
	for _, p := range parts[:len(parts)-1] {
		next, ok := dir.children[p]
		if !ok {
			return nil, "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if !next.dir {
			return nil, "", &fs.PathError{Op: op, Path: name, Err: errors.New("not a directory")}
		}
		dir = next
	}
	return dir, parts[len(parts)-1], nil
}

func (m *MemFS) lookup(op, name string) (*memNode, error) {
	if len(splitPath(name)) == 0 {
		return m.root, nil
	}
	dir, base, err := m.lookupParent(op, name)
	if err != nil {
		return nil, err
	}
	n, ok := dir.children[base]
	if !ok {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return n, nil
}

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.lookupParent("create", name)
	if err != nil {
		return nil, err
	}
	if _, ok := dir.children[base]; ok {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrExist}
	}
	n := &memNode{modTime: time.Now()}
	dir.children[base] = n
	dir.dirty = true
	return &memFile{fs: m, node: n, name: name, gen: m.gen, write: true}, nil
}

// CreateDirect implements FS: in memory there is no page cache to bypass,
// so it is Create.
func (m *MemFS) CreateDirect(name string) (File, error) { return m.Create(name) }

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &memFile{fs: m, node: n, name: name, gen: m.gen}, nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	odir, obase, err := m.lookupParent("rename", oldname)
	if err != nil {
		return err
	}
	n, ok := odir.children[obase]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldname, Err: fs.ErrNotExist}
	}
	ndir, nbase, err := m.lookupParent("rename", newname)
	if err != nil {
		return err
	}
	if old, ok := ndir.children[nbase]; ok && old.dir {
		return &fs.PathError{Op: "rename", Path: newname, Err: fs.ErrExist}
	}
	delete(odir.children, obase)
	ndir.children[nbase] = n
	odir.dirty, ndir.dirty = true, true
	return nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	dir, base, err := m.lookupParent("remove", name)
	if err != nil {
		return err
	}
	n, ok := dir.children[base]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if n.dir && len(n.children) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
	}
	delete(dir.children, base)
	dir.dirty = true
	return nil
}

// MkdirAll implements FS.
func (m *MemFS) MkdirAll(dir string, _ fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.root
	for _, p := range splitPath(dir) {
		next, ok := cur.children[p]
		if !ok {
			next = newDirNode()
			cur.children[p] = next
			cur.dirty = true
		}
		if !next.dir {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: errors.New("not a directory")}
		}
		cur = next
	}
	return nil
}

// ReadDir implements FS.
func (m *MemFS) ReadDir(dir string) ([]fs.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("readdir", dir)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: errors.New("not a directory")}
	}
	names := slices.Sorted(maps.Keys(n.children))
	out := make([]fs.DirEntry, len(names))
	for i, name := range names {
		out[i] = fs.FileInfoToDirEntry(n.children[name].info(name))
	}
	return out, nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (fs.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return n.info(filepath.Base(name)), nil
}

// SyncDir implements FS.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("syncdir", dir)
	if err != nil {
		return err
	}
	if !n.dir {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: errors.New("not a directory")}
	}
	n.syncedChildren = maps.Clone(n.children)
	n.dirty = false
	return nil
}

// OpenSyncer implements FS. MemFS is one file system, so dir only has to
// exist.
func (m *MemFS) OpenSyncer(dir string) (Syncer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.lookup("syncfs", dir); err != nil {
		return nil, err
	}
	return &memSyncer{fs: m, dir: dir, gen: m.gen}, nil
}

// memSyncer makes the whole MemFS durable, like syncfs(2).
type memSyncer struct {
	fs     *MemFS
	dir    string
	gen    uint64
	closed bool
}

func (s *memSyncer) Sync() error {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	switch {
	case s.closed:
		return &fs.PathError{Op: "syncfs", Path: s.dir, Err: fs.ErrClosed}
	case s.gen != s.fs.gen:
		return &fs.PathError{Op: "syncfs", Path: s.dir, Err: ErrCrashed}
	}
	s.fs.root.syncAll()
	return nil
}

func (s *memSyncer) Close() error {
	s.fs.mu.Lock()
	defer s.fs.mu.Unlock()
	if s.closed {
		return &fs.PathError{Op: "close", Path: s.dir, Err: fs.ErrClosed}
	}
	s.closed = true
	return nil
}

// syncAll makes n and everything under it durable. Files unlinked but
// still open are unreachable and stay as they are: they cannot survive a
// crash anyway.
func (n *memNode) syncAll() {
	if !n.dir {
		if n.dirty {
			n.synced = slices.Clone(n.data)
			n.dirty = false
		}
		return
	}
	if n.dirty {
		n.syncedChildren = maps.Clone(n.children)
		n.dirty = false
	}
	for _, c := range n.children {
		c.syncAll()
	}
}

// memFile is a handle on an inode. Its offset is private to the handle.
type memFile struct {
	fs     *MemFS
	node   *memNode
	name   string
	gen    uint64
	off    int64
	write  bool
	closed bool
}

func (f *memFile) check(op string) error {
	switch {
	case f.closed:
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	case f.gen != f.fs.gen:
		return &fs.PathError{Op: op, Path: f.name, Err: ErrCrashed}
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if f.off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[f.off:])
	f.off += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	if !f.write {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	end := f.off + int64(len(p))
	if end > int64(len(f.node.data)) {
		f.node.data = append(f.node.data, make([]byte, end-int64(len(f.node.data)))...)
	}
	copy(f.node.data[f.off:], p)
	f.off = end
	f.node.modTime = time.Now()
	f.node.dirty = true
	return len(p), nil
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync"); err != nil {
		return err
	}
	if f.node.dir {
		f.node.syncedChildren = maps.Clone(f.node.children)
	} else {
		f.node.synced = slices.Clone(f.node.data)
	}
	f.node.dirty = false
	return nil
}

func (f *memFile) Stat() (fs.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat"); err != nil {
		return nil, err
	}
	return f.node.info(filepath.Base(f.name)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}

func (n *memNode) info(name string) fs.FileInfo {
	return memInfo{name: name, size: int64(len(n.data)), dir: n.dir, mod: n.modTime}
}

type memInfo struct {
	name string
	size int64
	dir  bool
	mod  time.Time
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) ModTime() time.Time { return i.mod }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }
func (i memInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
