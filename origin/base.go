package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// base is what every origin kind shares: its identity, retry policy,
// concurrency slot pool and byte counter (both shared by all Opens of the
// same origin).
type base struct {
	loc   location
	url   string
	retry RetryPolicy
	log   *slog.Logger
	slots *semaphore.Weighted
	width int // slots' capacity
	read  *atomic.Int64
	scrub scrubber
	// files, when set, is the listing given by the operator (WithFiles).
	files []string
}

// URL is the origin's canonical location without credentials.
func (b *base) URL() string { return b.url }

// acquire takes one of the origin's slots; the returned release is
// idempotent.
func (b *base) acquire(ctx context.Context) (release func(), err error) {
	if err := b.slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	var once sync.Once
	return func() { once.Do(func() { b.slots.Release(1) }) }, nil
}

// statFiles lists the operator-given files by stat-ing each one.
func (b *base) statFiles(ctx context.Context, stat func(context.Context, string) (FileInfo, error)) ([]FileInfo, error) {
	out := make([]FileInfo, len(b.files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.width)
	for i, p := range b.files {
		g.Go(func() error {
			fi, err := stat(gctx, p)
			out[i] = fi
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// sortListing orders a listing by path bytes and rejects a path that is
// both a file and a directory (possible in S3, impossible in a tree).
func (b *base) sortListing(files []FileInfo) ([]FileInfo, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for i := 1; i < len(files); i++ {
		prev, cur := files[i-1].Path, files[i].Path
		if prev == cur || (len(cur) > len(prev) && cur[len(prev)] == '/' && cur[:len(prev)] == prev) {
			return nil, b.fail(ErrBadResponse, "list", prev, "listed both as a file and as a directory (or twice)", nil)
		}
	}
	return files, nil
}

// rangeReader yields exactly n bytes of an object's body, then io.EOF. It
// counts the bytes read from the origin, re-arms the stall watchdog on
// progress, maps failures to *Error, and gives the origin slot back when
// the range is consumed or the reader closed.
type rangeReader struct {
	body  io.ReadCloser
	skip  int64 // bytes to discard first (a server that ignored Range)
	left  int64
	wd    *watchdog // nil for file://
	stall func()    // re-arms wd
	count *atomic.Int64
	// short maps a body that ended early; fail maps other read errors.
	short func(got, want int64) error
	fail  func(error) error
	want  int64
	err   error
	once  sync.Once
	done  func() // release slot, stop watchdog
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.skip > 0 {
		if err := r.discard(); err != nil {
			return 0, r.finish(err)
		}
	}
	if r.left == 0 {
		return 0, r.finish(io.EOF)
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.body.Read(p)
	r.left -= int64(n)
	r.count.Add(int64(n))
	if n > 0 && r.stall != nil {
		r.stall()
	}
	switch {
	case r.left == 0:
		return n, r.finish(io.EOF)
	case err == io.EOF:
		return n, r.finish(r.short(r.want-r.left, r.want))
	case err != nil:
		return n, r.finish(r.fail(err))
	}
	return n, nil
}

// discard reads and drops the bytes before the wanted offset.
func (r *rangeReader) discard() error {
	n, err := io.CopyN(io.Discard, r.body, r.skip)
	r.count.Add(n)
	r.skip -= n
	switch {
	case err == io.EOF:
		return r.short(0, r.want)
	case err != nil:
		return r.fail(err)
	}
	return nil
}

// finish records a sticky result and releases the slot at the first
// error or at the end of the range.
func (r *rangeReader) finish(err error) error {
	r.err = err
	r.release()
	return err
}

func (r *rangeReader) release() {
	r.once.Do(func() {
		r.body.Close()
		r.done()
	})
}

// Close releases the origin slot; it is safe to call more than once.
func (r *rangeReader) Close() error {
	r.release()
	return nil
}

// bodyFailure maps an error while reading a body: a stall is ErrTimeout, a
// body shorter than its Content-Length is ErrBadResponse.
func (b *base) bodyFailure(rel string, wd *watchdog, err error) error {
	if !wd.timedOut() && errors.Is(err, io.ErrUnexpectedEOF) {
		return b.fail(ErrBadResponse, "read", rel, "body ended before its Content-Length", err)
	}
	f := classifyNet(err, wd)
	if wd.timedOut() {
		f.detail = fmt.Sprintf("no data for %v while reading the body", wd.limit())
	}
	return b.fail(f.kind, "read", rel, f.detail, f.cause)
}
