package origin

import (
	"errors"
	"strings"
)

// Error is a failed origin operation. Its text names the failure and the
// object without credentials, for example
//
//	origin changed: s3://bkt/prefix/a/b.bin: size 10 at publish, 12 now
//
// errors.Is matches Kind (one of this package's sentinels, or
// context.Canceled / context.DeadlineExceeded when the caller gave up), so
// the API can answer 502/503/504 naming Origin; errors.As also reaches Err.
type Error struct {
	// Kind is the sentinel callers branch on.
	Kind error
	// Origin is the origin's URL as URL() gives it (no credentials).
	Origin string
	// Path is the object's path relative to Origin, "" for the origin itself.
	Path string
	// Op is what was being done: "open", "list", "stat", "read" or "write".
	Op string
	// Detail says what went wrong, for people.
	Detail string
	// Err is the underlying cause, nil when there is none. Its text has had
	// the origin's credentials removed.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	b.WriteString(": ")
	b.WriteString(e.Object())
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes Kind and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Object is the object's location: Origin joined with Path (Path is shown
// unescaped so names stay readable).
func (e *Error) Object() string {
	if e.Path == "" {
		return e.Origin
	}
	return strings.TrimSuffix(e.Origin, "/") + "/" + e.Path
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// scrubbed is a cause whose text had secrets removed; Unwrap keeps the chain
// so errors.Is still sees syscall errors and timeouts.
type scrubbed struct {
	err error
	msg string
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.err }

// minSecretLen: shorter strings are not scrubbed from messages, since
// replacing every "a" would garble them; credentials are never put into
// URLs or messages in the first place, so scrubbing is a second line.
const minSecretLen = 4

// scrubber removes known secrets from error texts.
type scrubber []string

func newScrubber(secrets ...string) scrubber {
	var s scrubber
	for _, v := range secrets {
		if len(v) >= minSecretLen {
			s = append(s, v)
		}
	}
	return s
}

func (s scrubber) text(msg string) string {
	for _, v := range s {
		msg = strings.ReplaceAll(msg, v, "***")
	}
	return msg
}

// err wraps cause so its text carries no secret.
func (s scrubber) err(cause error) error {
	if cause == nil {
		return nil
	}
	if _, ok := cause.(*scrubbed); ok {
		return cause
	}
	return &scrubbed{err: cause, msg: s.text(cause.Error())}
}
