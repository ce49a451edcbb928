package api

import (
	"net/http"
	"net/url"
	"strings"
)

// maxJobIDLen bounds job IDs taken from URLs.
const maxJobIDLen = 128

func (h *Handler) postPin(w http.ResponseWriter, r *http.Request) error {
	var req PinRequest
	if err := decodeBody(r, h.maxBody, &req, false); err != nil {
		return err
	}
	if req.CID.IsZero() {
		return Errorf(http.StatusBadRequest, CodeBadCID, `request body has no "cid": expected {"cid": "bafy…", "origin": "…"}`)
	}
	if err := checkOrigin(req.Origin, false); err != nil {
		return err
	}
	st, err := h.backend.Pin(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/pins/"+req.CID.String())
	status := http.StatusAccepted
	if st.State == PinPinned {
		status = http.StatusOK
	}
	writeJSON(w, r, status, st)
	return nil
}

func (h *Handler) getPins(w http.ResponseWriter, r *http.Request) error {
	pins, err := h.backend.Pins(r.Context())
	if err != nil {
		return err
	}
	if pins == nil {
		pins = []PinStatus{}
	}
	writeJSON(w, r, http.StatusOK, pinsResponse{Pins: pins})
	return nil
}

func (h *Handler) getPin(w http.ResponseWriter, r *http.Request) error {
	c, err := pathCID(r)
	if err != nil {
		return err
	}
	st, err := h.backend.PinStatus(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, st)
	return nil
}

func (h *Handler) deletePin(w http.ResponseWriter, r *http.Request) error {
	c, err := pathCID(r)
	if err != nil {
		return err
	}
	if err := h.backend.Unpin(r.Context(), c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) postDataset(w http.ResponseWriter, r *http.Request) error {
	var req PublishRequest
	if err := decodeBody(r, h.maxBody, &req, false); err != nil {
		return err
	}
	if err := checkOrigin(req.Origin, true); err != nil {
		return err
	}
	for i, f := range req.Files {
		if reason := pathProblem(f); reason != "" || f == "" {
			if f == "" {
				reason = "it is empty"
			}
			return Errorf(http.StatusBadRequest, CodeBadPath, "files[%d] %q: %s", i, truncate(f, 200), reason)
		}
	}
	st, err := h.backend.Publish(r.Context(), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/datasets/jobs/"+url.PathEscape(st.ID))
	writeJSON(w, r, http.StatusAccepted, st)
	return nil
}

func (h *Handler) getPublishJob(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if len(id) > maxJobIDLen {
		return NotFound("no publish job %q", truncate(id, 40))
	}
	st, err := h.backend.PublishStatus(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, st)
	return nil
}

func (h *Handler) postGC(w http.ResponseWriter, r *http.Request) error {
	var req struct{}
	if err := decodeBody(r, h.maxBody, &req, true); err != nil {
		return err
	}
	res, err := h.backend.GC(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, r, http.StatusOK, res)
	return nil
}

// checkOrigin checks an origin URL's shape; the backend checks it against
// the daemon's allowlist.
func checkOrigin(origin string, required bool) error {
	if origin == "" {
		if required {
			return BadRequest(`request body has no "origin": expected a URL such as s3://bucket/prefix, https://host/prefix or file:///path`)
		}
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil {
		return BadRequest("origin %q is not a URL: %v", truncate(origin, 200), err)
	}
	switch strings.ToLower(u.Scheme) {
	case "file", "http", "https", "s3":
	default:
		return BadRequest("origin %q: scheme %q is not one of file, http, https, s3", truncate(origin, 200), u.Scheme)
	}
	if u.User != nil {
		return BadRequest("origin %q carries credentials; the daemon uses the credentials of its own configuration", u.Redacted())
	}
	return nil
}
