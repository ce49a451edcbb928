package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	format "github.com/ipfs/go-ipld-format"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/internal/catalog"
	"github.com/meshcache/meshcache/blockstore/vfs"
	"github.com/multiformats/go-multihash"
)

func notFound(c cid.Cid) error {
	return fmt.Errorf("block %s: %w", c, format.ErrNotFound{Cid: c})
}

// Get implements blockstore.Store. A block that fails verification is
// quarantined and Get returns an error wrapping blockstore.ErrCorrupt (not
// ErrNotFound): fetch it again and Put it.
func (s *Store) Get(ctx context.Context, c cid.Cid) (blocks.Block, error) {
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	data, err := s.readVerified(ctx, c, forReader, nil)
	if err != nil {
		return nil, err
	}
	s.cat.Hit(catalog.Key(c))
	return blocks.NewBlockWithCid(data, c)
}

// View implements boxo's Viewer with the same verification as Get. The
// bytes fn sees are valid only until it returns (boxo's contract): they
// are read into a buffer that the next View reuses, so that serving blocks
// to peers costs no fresh, zeroed megabyte per block and no garbage.
func (s *Store) View(ctx context.Context, c cid.Cid, fn func([]byte) error) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	bp, _ := s.viewBufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	defer s.viewBufs.Put(bp)
	data, err := s.readVerified(ctx, c, forReader, *bp)
	if err != nil {
		return err
	}
	if cap(data) <= viewBufMax {
		*bp = data[:0]
	}
	s.cat.Hit(catalog.Key(c))
	return fn(data)
}

// viewBufMax is the largest buffer View keeps for reuse.
const viewBufMax = 2 << 20

// Has implements blockstore.Store from the index alone.
func (s *Store) Has(ctx context.Context, c cid.Cid) (bool, error) {
	if err := s.begin(); err != nil {
		return false, err
	}
	defer s.end()
	_, ok := s.cat.Lookup(catalog.Key(c))
	return ok, nil
}

// GetSize implements blockstore.Store from the index alone.
func (s *Store) GetSize(ctx context.Context, c cid.Cid) (int, error) {
	if err := s.begin(); err != nil {
		return 0, err
	}
	defer s.end()
	e, ok := s.cat.Lookup(catalog.Key(c))
	if !ok {
		return 0, notFound(c)
	}
	return int(e.Size), nil
}

// mustVerify says whether a read of e re-hashes it.
func (s *Store) mustVerify(e catalog.Entry) bool {
	return s.cfg.VerifyReads == VerifyAlways || e.VerifiedAt.IsZero()
}

// purpose says who reads a block, which decides verification.
type purpose int

const (
	forReader  purpose = iota // Get, View: verified by the rules, counted in Stats.VerifiedReads
	forMarking                // following a pinned DAG: verified by the rules, not counted
	forScrub                  // always verified, not counted
)

// readVerified reads a held block, verifying it when p and the rules say
// so, into buf when it is large enough.
func (s *Store) readVerified(ctx context.Context, c cid.Cid, p purpose, buf []byte) ([]byte, error) {
	key := catalog.Key(c)
	e, ok := s.cat.Lookup(key)
	if !ok {
		return nil, notFound(c)
	}
	data, err := s.readFile(s.blockPath(key), buf)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.dropMissing(ctx, c, key)
		return nil, notFound(c)
	case err != nil:
		return nil, fmt.Errorf("read block %s: %w", c, err)
	case int64(len(data)) != e.Size:
		return nil, s.quarantine(ctx, c, key, fmt.Sprintf("size %d, indexed %d", len(data), e.Size))
	}
	if p == forScrub || s.mustVerify(e) {
		if p == forReader {
			s.cat.VerifiedRead()
		}
		if !catalog.Matches(c, data) {
			return nil, s.quarantine(ctx, c, key, "hash mismatch")
		}
		s.cat.Verified(key, time.Now())
	}
	return data, nil
}

func (s *Store) readFile(path string, buf []byte) ([]byte, error) {
	f, err := s.fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var data []byte
	if n := int(st.Size()); cap(buf) >= n {
		data = buf[:n]
	} else {
		data = make([]byte, n)
	}
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	return data, nil
}

// OpenFile returns a held block's file, positioned at its start, and its
// size, after the same verification as Get, so that a server can hand it to
// the kernel (io.Copy to a socket uses sendfile). The caller closes it. It
// needs the real file system (vfs.OS, possibly wrapped by faultfs).
func (s *Store) OpenFile(ctx context.Context, c cid.Cid) (*os.File, int64, error) {
	if err := s.begin(); err != nil {
		return nil, 0, err
	}
	defer s.end()
	key := catalog.Key(c)
	e, ok := s.cat.Lookup(key)
	if !ok {
		return nil, 0, notFound(c)
	}
	f, err := s.fs.Open(s.blockPath(key))
	if errors.Is(err, fs.ErrNotExist) {
		s.dropMissing(ctx, c, key)
		return nil, 0, notFound(c)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open block %s: %w", c, err)
	}
	osf := osFile(f)
	if osf == nil {
		f.Close()
		return nil, 0, fmt.Errorf("open block %s: file system %T has no OS files", c, s.fs)
	}
	if err := s.verifyOpen(ctx, c, key, e, osf); err != nil {
		f.Close()
		return nil, 0, err
	}
	s.cat.Hit(key)
	return osf, e.Size, nil
}

// verifyOpen checks an open block file's size and, when due, its hash,
// streaming so that no block-sized buffer is needed.
func (s *Store) verifyOpen(ctx context.Context, c cid.Cid, key string, e catalog.Entry, f *os.File) error {
	return s.hashOpen(ctx, c, key, e, f, true)
}

// hashOpen is verifyOpen; counted says a reader asked (Stats.VerifiedReads).
// A block another caller is hashing is waited for, not hashed again.
func (s *Store) hashOpen(ctx context.Context, c cid.Cid, key string, e catalog.Entry, f *os.File, counted bool) error {
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat block %s: %w", c, err)
	}
	if st.Size() != e.Size {
		return s.quarantine(ctx, c, key, fmt.Sprintf("size %d, indexed %d", st.Size(), e.Size))
	}
	if !s.mustVerify(e) {
		return nil
	}
	release, wait := s.claimHash(key)
	if wait != nil {
		select {
		case <-wait:
		case <-ctx.Done():
			return ctx.Err()
		}
		e2, ok := s.cat.Lookup(key)
		switch {
		case !ok:
			return fmt.Errorf("block %s: quarantined while this read waited: %w", c, blockstore.ErrCorrupt)
		case !s.mustVerify(e2):
			return nil
		}
		// The other hash did not complete (cancelled): hash it here.
	} else {
		defer release()
	}
	if counted {
		s.cat.VerifiedRead()
	}
	dec, err := multihash.Decode(c.Hash())
	if err != nil {
		return fmt.Errorf("block %s: %w", c, err)
	}
	sum, err := multihash.SumStream(io.NewSectionReader(f, 0, e.Size), dec.Code, dec.Length)
	if err != nil {
		return fmt.Errorf("hash block %s: %w", c, err)
	}
	if !bytes.Equal(sum, c.Hash()) {
		return s.quarantine(ctx, c, key, "hash mismatch")
	}
	s.cat.Verified(key, time.Now())
	return nil
}

// claimHash returns release when the caller is to hash key's block (and
// must call release after), or a channel closed when whoever is hashing
// it is done.
func (s *Store) claimHash(key string) (release func(), wait <-chan struct{}) {
	s.hashMu.Lock()
	defer s.hashMu.Unlock()
	if ch, ok := s.hashing[key]; ok {
		return nil, ch
	}
	if s.hashing == nil {
		s.hashing = map[string]chan struct{}{}
	}
	ch := make(chan struct{})
	s.hashing[key] = ch
	return func() {
		s.hashMu.Lock()
		delete(s.hashing, key)
		s.hashMu.Unlock()
		close(ch)
	}, nil
}

// Unverified reports whether c is held and its next read would hash it
// (the first read since start). With VerifyAlways every read hashes, and
// hashing ahead would spare none: it reports false.
func (s *Store) Unverified(c cid.Cid) bool {
	e, ok := s.cat.Lookup(catalog.Key(c))
	return ok && s.cfg.VerifyReads != VerifyAlways && e.VerifiedAt.IsZero()
}

// Verify hashes c now if its next read would and nobody else is hashing
// it, so that a reader arriving later sends it without hashing: a
// sequential reader's read-ahead calls it on blocks ahead of the reader,
// which puts the other core to work on the first read after a start. A
// block that fails is quarantined, as a read would.
func (s *Store) Verify(ctx context.Context, c cid.Cid) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	key := catalog.Key(c)
	e, ok := s.cat.Lookup(key)
	if !ok || !s.mustVerify(e) || s.cfg.VerifyReads == VerifyAlways {
		return nil
	}
	s.hashMu.Lock()
	_, busy := s.hashing[key]
	s.hashMu.Unlock()
	if busy {
		return nil
	}
	f, err := s.fs.Open(s.blockPath(key))
	if err != nil {
		return nil // the reader will find out and say
	}
	defer f.Close()
	osf := osFile(f)
	if osf == nil {
		return nil
	}
	return s.hashOpen(ctx, c, key, e, osf, false)
}

// osFile unwraps f to an *os.File, or returns nil.
func osFile(f vfs.File) *os.File {
	for {
		switch v := f.(type) {
		case *os.File:
			return v
		case interface{ Unwrap() vfs.File }:
			f = v.Unwrap()
		default:
			return nil
		}
	}
}

// quarantine moves a block that failed verification out of the store and
// returns the error for the reader. The move is not synced: if a crash
// undoes it, the block is unverified again and caught again. OnCorrupt
// hears of it once the block's lock is released.
func (s *Store) quarantine(ctx context.Context, c cid.Cid, key, why string) error {
	corrupt := fmt.Errorf("block %s: %s: %w", c, why, blockstore.ErrCorrupt)
	if s.quarantineLocked(ctx, c, key, why) && s.cfg.OnCorrupt != nil {
		s.cfg.OnCorrupt(c)
	}
	return corrupt
}

// quarantineLocked does quarantine's work under the block's lock; it reports
// whether this call dropped the block.
func (s *Store) quarantineLocked(ctx context.Context, c cid.Cid, key, why string) bool {
	if err := s.cat.Lock(context.WithoutCancel(ctx), key); err != nil {
		return false
	}
	defer s.cat.Unlock(key)
	if !s.cat.Forget(key) {
		return false // another reader got here first
	}
	s.cat.Quarantined()
	src := s.blockPath(key)
	dst := filepath.Join(s.quarantineDir, fmt.Sprintf("%s.%d%s", blockName(key), time.Now().UnixNano(), blockExt))
	if err := s.fs.Rename(src, dst); err != nil {
		s.log.Error("quarantine failed; removing the block instead", "cid", c, "err", err)
		if err := s.fs.Remove(src); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Error("remove corrupt block", "cid", c, "path", src, "err", err)
		}
	}
	s.log.Warn("block failed verification; quarantined", "cid", c, "reason", why, "moved_to", dst)
	return true
}

// dropMissing forgets a block whose file vanished behind the store's back.
func (s *Store) dropMissing(ctx context.Context, c cid.Cid, key string) {
	if err := s.cat.Lock(ctx, key); err != nil {
		return
	}
	defer s.cat.Unlock(key)
	if _, err := s.fs.Stat(s.blockPath(key)); errors.Is(err, fs.ErrNotExist) && s.cat.Forget(key) {
		s.log.Warn("indexed block file is missing; forgotten", "cid", c)
	}
}

// DeleteBlock implements blockstore.Store; deleting an absent block is not
// an error. The removal is not synced: a block that reappears after a crash
// is still valid.
func (s *Store) DeleteBlock(ctx context.Context, c cid.Cid) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	key := catalog.Key(c)
	if err := s.cat.Lock(ctx, key); err != nil {
		return fmt.Errorf("delete block %s: %w", c, err)
	}
	defer s.cat.Unlock(key)
	if !s.cat.Forget(key) {
		return nil
	}
	if err := s.fs.Remove(s.blockPath(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete block %s: %w", c, err)
	}
	return nil
}

// AllKeysChan implements blockstore.Store. Keys come back as CIDv1 raw:
// files are named by multihash, as in boxo's stores.
func (s *Store) AllKeysChan(ctx context.Context) (<-chan cid.Cid, error) {
	ch, _, err := s.AllKeysChanWithErr(ctx)
	return ch, err
}

// AllKeysChanWithErr implements boxo's AllKeysChanWithErrer.
func (s *Store) AllKeysChanWithErr(ctx context.Context) (<-chan cid.Cid, func() error, error) {
	if err := s.begin(); err != nil {
		return nil, nil, err
	}
	defer s.end()
	return catalog.KeysChan(ctx, s.cat.Keys())
}
