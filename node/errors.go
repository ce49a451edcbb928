package node

import (
	"context"
	"errors"
	"net/http"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/dataset"
	"github.com/meshcache/meshcache/origin"
	"github.com/meshcache/meshcache/prefetch"
)

// apiError gives a component's error the HTTP status and code the API
// answers with; its message stays the component's (it already says what
// failed and where).
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return err
	}
	status, code := classify(err)
	return &api.Error{Status: status, Code: code, Message: err.Error(), Err: err}
}

// classify maps sentinel errors to an HTTP status and an API code. The order
// matters: an origin failure during a pin is an origin failure, not a
// missing pin.
func classify(err error) (int, string) {
	switch {
	case errors.Is(err, origin.ErrNotAllowed):
		return http.StatusForbidden, api.CodeForbidden
	case errors.Is(err, origin.ErrChanged):
		return http.StatusBadGateway, api.CodeOriginChanged
	case errors.Is(err, origin.ErrTimeout):
		return http.StatusGatewayTimeout, api.CodeOriginTimeout
	case errors.Is(err, origin.ErrUnavailable), errors.Is(err, origin.ErrBadResponse), errors.Is(err, prefetch.ErrIntegrity):
		return http.StatusBadGateway, api.CodeOriginUnavailable
	case errors.Is(err, origin.ErrNotFound):
		return http.StatusBadGateway, api.CodeOriginUnavailable
	case errors.Is(err, blockstore.ErrPinTooLarge), errors.Is(err, blockstore.ErrNoSpace):
		return http.StatusInsufficientStorage, api.CodeInsufficientStorage
	case errors.Is(err, dataset.ErrNoSuchPath), errors.Is(err, prefetch.ErrNotPinned),
		errors.Is(err, prefetch.ErrUnknownDataset), errors.Is(err, blockstore.ErrNotFound):
		return http.StatusNotFound, api.CodeNotFound
	case errors.Is(err, dataset.ErrIsDir):
		return http.StatusBadRequest, api.CodeIsDir
	case errors.Is(err, dataset.ErrNotDir):
		return http.StatusBadRequest, api.CodeNotDir
	case errors.Is(err, dataset.ErrBadCAR):
		return http.StatusBadGateway, api.CodeOriginUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, api.CodeTimeout
	}
	return http.StatusInternalServerError, api.CodeInternal
}
