package origin

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// failure is one attempt's classified error: which sentinel it maps to and
// whether another attempt may help.
type failure struct {
	kind   error
	retry  bool
	detail string
	cause  error
}

func (f *failure) Error() string {
	if f.cause != nil {
		return f.detail + ": " + f.cause.Error()
	}
	return f.detail
}

func (f *failure) Unwrap() error { return f.cause }

// permanent is a failure that retrying cannot fix.
func permanent(kind error, detail string, cause error) *failure {
	return &failure{kind: kind, detail: detail, cause: cause}
}

// transient is a failure worth retrying.
func transient(kind error, detail string, cause error) *failure {
	return &failure{kind: kind, retry: true, detail: detail, cause: cause}
}

// backoff is the full-jitter delay before retry number n (n ≥ 0).
func (r RetryPolicy) backoff(n int) time.Duration {
	ceil := r.MaxDelay
	if n < 62 && r.BaseDelay<<n > 0 && r.BaseDelay<<n < ceil {
		ceil = r.BaseDelay << n
	}
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil)
}

// do runs attempt until it succeeds, fails permanently, attempts run out or
// ctx ends. A failed attempt must have released everything it took. The
// returned error is an *Error naming the object.
func (b *base) do(ctx context.Context, op, rel string, attempt func(context.Context) error) error {
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return b.fail(ctx.Err(), op, rel, "", err)
		}
		f := asFailure(err)
		if !f.retry || n >= b.retry.MaxAttempts {
			detail := f.detail
			if f.retry {
				detail = fmt.Sprintf("%s (gave up after %d attempts)", detail, n)
			}
			return b.fail(f.kind, op, rel, detail, f.cause)
		}
		d := b.retry.backoff(n - 1)
		b.log.Debug("origin request failed; retrying", "origin", b.url, "path", rel, "op", op,
			"attempt", n, "delay", d, "err", b.scrub.text(f.Error()))
		if err := b.retry.Sleep(ctx, d); err != nil {
			return b.fail(ctx.Err(), op, rel, "", f)
		}
	}
}

// asFailure classifies errors the attempt did not classify itself.
func asFailure(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return classifyNet(err, nil)
}

// classifyNet maps transport errors: timeouts and connection failures are
// transient, certificate errors are not.
func classifyNet(err error, wd *watchdog) *failure {
	var (
		netErr  net.Error
		certErr *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
	)
	switch {
	case wd != nil && wd.timedOut():
		return transient(ErrTimeout, fmt.Sprintf("no answer within %v", wd.limit()), nil)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return transient(ErrTimeout, "timed out", err)
	case errors.As(err, &certErr), errors.As(err, &unkAuth):
		return permanent(ErrUnavailable, "TLS certificate not trusted", err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return transient(ErrUnavailable, "connection refused", err)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return transient(ErrUnavailable, "connection lost", err)
	}
	return transient(ErrUnavailable, "request failed", err)
}

// fail builds the *Error for an operation on rel.
func (b *base) fail(kind error, op, rel, detail string, cause error) *Error {
	return &Error{Kind: kind, Origin: b.url, Path: rel, Op: op, Detail: b.scrub.text(detail), Err: b.scrub.err(cause)}
}

// watchdog cancels an attempt's context when a phase takes too long: first
// the wait for response headers, then each pause while the body is read.
type watchdog struct {
	timer  *time.Timer
	cancel context.CancelFunc
	fired  atomic.Bool
	d      atomic.Int64
}

// startWatchdog derives a context that is cancelled after d without reset.
// stop must be called to release it.
func startWatchdog(ctx context.Context, d time.Duration) (context.Context, *watchdog) {
	ctx, cancel := context.WithCancel(ctx)
	w := &watchdog{cancel: cancel}
	w.d.Store(int64(d))
	w.timer = time.AfterFunc(d, func() {
		w.fired.Store(true)
		cancel()
	})
	return ctx, w
}

// reset re-arms the timer for d after progress; a fired watchdog stays fired.
func (w *watchdog) reset(d time.Duration) {
	if w.fired.Load() {
		return
	}
	w.d.Store(int64(d))
	w.timer.Reset(d)
}

func (w *watchdog) timedOut() bool       { return w.fired.Load() }
func (w *watchdog) limit() time.Duration { return time.Duration(w.d.Load()) }

// stop disarms the timer and cancels the attempt's context.
func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel()
}
