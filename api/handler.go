package api

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
)

// DefaultMaxBodyBytes limits request bodies.
const DefaultMaxBodyBytes = 1 << 20

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	Backend Backend
	Logger  *slog.Logger
	// Admins may publish, pin, unpin and collect garbage.
	Admins Admins
	// MaxBodyBytes limits request bodies (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
}

// Validate says which field is wrong.
func (c HandlerConfig) Validate() error {
	switch {
	case c.Backend == nil:
		return errors.New("api handler: Backend is nil")
	case c.MaxBodyBytes < 0:
		return errors.New("api handler: MaxBodyBytes must not be negative")
	case c.Admins.Group != nil && c.Admins.Group.Name == "":
		return errors.New("api handler: Admins.Group has no name (it appears in refusals)")
	}
	return nil
}

// Handler is the API's http.Handler: a route table over a Backend.
type Handler struct {
	backend Backend
	log     *slog.Logger
	admins  Admins
	maxBody int64
	mux     *http.ServeMux

	requests     atomic.Int64
	serverErrors atomic.Int64
	bytesServed  atomic.Int64
}

// NewHandler checks cfg and builds the route table.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	h := &Handler{backend: cfg.Backend, log: cfg.Logger, admins: cfg.Admins, maxBody: cfg.MaxBodyBytes, mux: http.NewServeMux()}
	h.register()
	return h, nil
}

// apiFunc is a route's handler: it returns the error to answer with, if the
// response has not been started.
type apiFunc func(w http.ResponseWriter, r *http.Request) error

// route is one method on one pattern. action names admin routes in refusals.
type route struct {
	method  string
	pattern string
	action  string // "" for routes open to every reader
	fn      apiFunc
}

func (h *Handler) routes() []route {
	return []route{
		{"GET", "/v1/fs/{cid}", "", h.getFS},
		{"HEAD", "/v1/fs/{cid}", "", h.getFS},
		{"GET", "/v1/fs/{cid}/{path...}", "", h.getFS},
		{"HEAD", "/v1/fs/{cid}/{path...}", "", h.getFS},
		{"GET", "/v1/blocks/{cid}", "", h.getBlock},
		{"HEAD", "/v1/blocks/{cid}", "", h.getBlock},
		{"POST", "/v1/pins", "pin", h.postPin},
		{"GET", "/v1/pins", "", h.getPins},
		{"GET", "/v1/pins/{cid}", "", h.getPin},
		{"DELETE", "/v1/pins/{cid}", "unpin", h.deletePin},
		{"POST", "/v1/datasets", "publish", h.postDataset},
		{"GET", "/v1/datasets/jobs/{id}", "", h.getPublishJob},
		{"POST", "/v1/gc", "gc", h.postGC},
		{"GET", "/v1/stats", "", h.getStats},
		{"GET", "/v1/id", "", h.getID},
		{"GET", "/v1/peers", "", h.getPeers},
		{"GET", "/metrics", "", h.getMetrics},
	}
}

// register groups the routes by pattern so that a known path with the
// wrong method gets a JSON 405 (ServeMux's own answers are plain text).
func (h *Handler) register() {
	byPattern := map[string]map[string]route{}
	var order []string
	for _, rt := range append(h.routes(), debugRoutes()...) {
		if byPattern[rt.pattern] == nil {
			byPattern[rt.pattern] = map[string]route{}
			order = append(order, rt.pattern)
		}
		byPattern[rt.pattern][rt.method] = rt
	}
	for _, p := range order {
		h.mux.Handle(p, h.dispatch(byPattern[p]))
	}
	h.mux.Handle("/", h.wrap(func(w http.ResponseWriter, r *http.Request) error {
		return Errorf(http.StatusNotFound, CodeNoRoute, "no API route %s %s (the routes are listed in docs/api.md)", truncate(r.Method, 20), truncate(r.URL.Path, 200))
	}))
}

func (h *Handler) dispatch(methods map[string]route) http.Handler {
	allowed := make([]string, 0, len(methods))
	for m := range methods {
		allowed = append(allowed, m)
	}
	slices.Sort(allowed)
	allow := strings.Join(allowed, ", ")
	return h.wrap(func(w http.ResponseWriter, r *http.Request) error {
		rt, ok := methods[r.Method]
		if !ok && r.Method == http.MethodHead {
			rt, ok = methods[http.MethodGet]
		}
		if !ok {
			w.Header().Set("Allow", allow)
			return Errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method %s is not allowed on %s; use %s", truncate(r.Method, 20), r.URL.Path, allow)
		}
		if rt.action != "" {
			if err := h.admins.authorize(r.Context(), rt.action); err != nil {
				return err
			}
		}
		return rt.fn(w, r)
	})
}

// ServeHTTP checks the path before the mux sees it: ServeMux would answer
// an unclean path (/v1/fs/CID/../../etc) with a redirect, and an API says
// what is wrong instead.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.requests.Add(1)
	if err := checkURLPath(r.URL.Path); err != nil {
		h.wrap(func(http.ResponseWriter, *http.Request) error { return err }).ServeHTTP(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// wrap answers fn's error as JSON and turns a panic into a logged 500, so
// that no request can take the daemon down.
func (h *Handler) wrap(fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
				panic(v)
			}
			h.log.Error("panic in API handler", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			h.writeError(w, r, Errorf(http.StatusInternalServerError, CodeInternal, "internal error serving %s %s: %v", r.Method, r.URL.Path, v))
		}()
		if err := fn(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Status >= 500 {
		h.serverErrors.Add(1)
		h.log.Warn("API request failed", "method", r.Method, "path", r.URL.Path, "status", e.Status, "err", err)
	}
	// Headers a file response had set before failing would describe bytes
	// that are not coming; a 416 keeps its "bytes */SIZE".
	hdr := w.Header()
	for _, k := range []string{"Content-Length", "ETag", "Cache-Control", "Accept-Ranges", "X-Meshcache-Type"} {
		hdr.Del(k)
	}
	if e.Status != http.StatusRequestedRangeNotSatisfiable {
		hdr.Del("Content-Range")
	}
	writeJSON(w, r, e.Status, e)
}
