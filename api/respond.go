package api

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// writeJSON answers v as JSON with status. HEAD gets the headers only.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(&Error{Code: CodeInternal, Message: "encode response: " + err.Error()})
	}
	body = append(body, '\n')
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("X-Content-Type-Options", "nosniff")
	if hdr.Get("Cache-Control") == "" {
		hdr.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
