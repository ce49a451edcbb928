package api

import (
	"net/http"
	"net/http/pprof"
)

// Profiles are served to admins only: a CPU profile costs the daemon CPU
// for as long as the caller asks, and heap profiles show file names and
// CIDs of datasets the caller may not otherwise see.
func debugRoutes() []route {
	serve := func(fn http.HandlerFunc) apiFunc {
		return func(w http.ResponseWriter, r *http.Request) error {
			fn(w, r)
			return nil
		}
	}
	return []route{
		{"GET", "/debug/pprof/", "profile", serve(pprof.Index)},
		{"GET", "/debug/pprof/cmdline", "profile", serve(pprof.Cmdline)},
		{"GET", "/debug/pprof/profile", "profile", serve(pprof.Profile)},
		{"GET", "/debug/pprof/symbol", "profile", serve(pprof.Symbol)},
		{"GET", "/debug/pprof/trace", "profile", serve(pprof.Trace)},
		// Index serves the named profiles (heap, goroutine, mutex, …).
		{"GET", "/debug/pprof/{name}", "profile", serve(pprof.Index)},
	}
}
