package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// Machine-readable error codes, the "code" of every error response.
const (
	CodeBadCID              = "bad_cid"
	CodeBadPath             = "bad_path"
	CodeBadJSON             = "bad_json"
	CodeUnknownField        = "unknown_field"
	CodeBadRequest          = "bad_request"
	CodeBodyTooLarge        = "body_too_large"
	CodeNotFound            = "not_found"
	CodeNoRoute             = "no_route"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeRangeNotSatisfiable = "range_not_satisfiable"
	CodeForbidden           = "forbidden"
	CodeConflict            = "conflict"
	CodeInsufficientStorage = "insufficient_storage"
	CodeOriginChanged       = "origin_changed"
	CodeOriginUnavailable   = "origin_unavailable"
	CodeOriginTimeout       = "origin_timeout"
	CodeNotAvailable        = "not_available"
	CodeTimeout             = "timeout"
	CodeInternal            = "internal"
	// Codes the client gives a pin or publish job that failed.
	CodePinFailed     = "pin_failed"
	CodePublishFailed = "publish_failed"
	// A path of the other kind than the call expects (daemon or client).
	CodeIsDir  = "is_dir"
	CodeNotDir = "not_dir"
)

// Error is an API error: the HTTP status, a machine code and a message a
// person can act on. Backend methods return one to choose the response; the
// client returns one for every error response of the daemon.
type Error struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	Code    string `json:"code"`
	// Err is the cause (not sent over the wire), for errors.Is/As in the
	// daemon.
	Err error `json:"-"`
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error. format may use %w: the wrapped error becomes Err.
func Errorf(status int, code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Status: status, Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

// NotFound is a 404 *Error.
func NotFound(format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, CodeNotFound, format, args...)
}

// BadRequest is a 400 *Error.
func BadRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, CodeBadRequest, format, args...)
}

// Conflict is a 409 *Error.
func Conflict(format string, args ...any) *Error {
	return Errorf(http.StatusConflict, CodeConflict, format, args...)
}

// InsufficientStorage is a 507 *Error, for a pin that cannot fit.
func InsufficientStorage(format string, args ...any) *Error {
	return Errorf(http.StatusInsufficientStorage, CodeInsufficientStorage, format, args...)
}

// NotAvailable is a 503 *Error for a feature that is not running (yet).
func NotAvailable(format string, args ...any) *Error {
	return Errorf(http.StatusServiceUnavailable, CodeNotAvailable, format, args...)
}

// OriginError is the *Error for a failed origin: status is 502 (bad answer),
// 503 (unavailable) or 504 (timed out); the message names the origin.
func OriginError(status int, originURL string, err error) *Error {
	code := CodeOriginUnavailable
	if status == http.StatusGatewayTimeout {
		code = CodeOriginTimeout
	}
	return Errorf(status, code, "origin %s: %w", originURL, err)
}

// ErrorCode returns the code of the *Error in err's chain, "" if none.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// asError turns any error into the *Error to send. The message is err's own
// (so context wrapped around an *Error is kept); status and code come from
// the first *Error in the chain.
func asError(err error) *Error {
	out := &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: err.Error(), Err: err}
	var e *Error
	switch {
	case errors.As(err, &e):
		if e.Status >= 400 && e.Status <= 599 {
			out.Status = e.Status
		}
		out.Code = e.Code
		if out.Code == "" {
			out.Code = codeFor(out.Status)
		}
	case errors.Is(err, context.DeadlineExceeded):
		out.Status, out.Code = http.StatusGatewayTimeout, CodeTimeout
	}
	return out
}

// codeFor is the code of an *Error built without one.
func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusConflict:
		return CodeConflict
	case http.StatusInsufficientStorage:
		return CodeInsufficientStorage
	case http.StatusServiceUnavailable:
		return CodeNotAvailable
	case http.StatusGatewayTimeout:
		return CodeTimeout
	}
	return CodeInternal
}
