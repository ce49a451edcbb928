package dataset

import (
	"context"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/meshcache/meshcache/dataset/internal/fixture"
	"github.com/meshcache/meshcache/origin"
)

// TestPublishCancel: cancelling stops a publish promptly, and no goroutine
// is left behind.
func TestPublishCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	c := fixture.Case{Name: "cancel", Files: []fixture.File{{Path: "a", Size: 512 << 20}, {Path: "b", Size: 512 << 20}}}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var cancelledAt time.Time
	_, err := Publish(ctx, &genOrigin{c: c}, PublishOptions{Store: newMemStore(), NoStore: true, Progress: func(p Progress) {
		if p.Bytes > 0 && cancelledAt.IsZero() {
			cancelledAt = time.Now()
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish = %v, want context.Canceled", err)
	}
	if d := time.Since(cancelledAt); d > time.Second {
		t.Fatalf("Publish returned %v after cancel", d)
	}
	waitGoroutines(t, before)
}

// TestPublishOriginFails: a read error mid-file fails the publish with the
// origin's error, and no goroutine is left behind.
func TestPublishOriginFails(t *testing.T) {
	before := runtime.NumGoroutine()
	o := &failingOrigin{genOrigin: genOrigin{c: fixture.Case{Name: "fail", Files: []fixture.File{
		{Path: "big", Size: 40 << 20}, {Path: "small-1", Size: 10}, {Path: "small-2", Size: 10},
	}}}, failAt: 20 << 20}
	_, err := Publish(t.Context(), o, PublishOptions{Store: newMemStore()})
	if !errors.Is(err, origin.ErrUnavailable) {
		t.Fatalf("Publish = %v, want origin.ErrUnavailable", err)
	}
	waitGoroutines(t, before)
}

type failingOrigin struct {
	genOrigin
	failAt int64
}

func (o *failingOrigin) ReadRange(ctx context.Context, p string, off, length int64, want origin.FileInfo) (io.ReadCloser, error) {
	rc, err := o.genOrigin.ReadRange(ctx, p, off, length, want)
	if err != nil || length <= o.failAt {
		return rc, err
	}
	return io.NopCloser(io.MultiReader(io.LimitReader(rc, o.failAt), errReader{origin.ErrUnavailable})), nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// waitGoroutines waits for the goroutine count to fall back to n.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
