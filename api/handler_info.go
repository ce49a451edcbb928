package api

import "net/http"

func (h *Handler) getStats(w http.ResponseWriter, r *http.Request) error {
	st, err := h.backend.Stats(r.Context())
	if err != nil {
		return err
	}
	if st.Origins == nil {
		st.Origins = []OriginStats{}
	}
	st.API = APIStats{
		Requests:     h.requests.Load(),
		ServerErrors: h.serverErrors.Load(),
		BytesServed:  h.bytesServed.Load(),
	}
	writeJSON(w, r, http.StatusOK, st)
	return nil
}

func (h *Handler) getID(w http.ResponseWriter, r *http.Request) error {
	id, err := h.backend.ID(r.Context())
	if err != nil {
		return err
	}
	if id.Addrs == nil {
		id.Addrs = []string{}
	}
	writeJSON(w, r, http.StatusOK, id)
	return nil
}

func (h *Handler) getPeers(w http.ResponseWriter, r *http.Request) error {
	peers, err := h.backend.Peers(r.Context())
	if err != nil {
		return err
	}
	if peers == nil {
		peers = []PeerInfo{}
	}
	writeJSON(w, r, http.StatusOK, peersResponse{Peers: peers})
	return nil
}

func (h *Handler) getMetrics(w http.ResponseWriter, r *http.Request) error {
	m := h.backend.Metrics()
	if m == nil {
		return NotFound("metrics are not enabled in this daemon")
	}
	m.ServeHTTP(w, r)
	return nil
}
