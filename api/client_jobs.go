package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/ipfs/go-cid"
)

// DefaultPollInterval is how often WaitPin and WaitPublish ask by default.
const DefaultPollInterval = 500 * time.Millisecond

// Pin starts pinning root; origin (optional) is where to read blocks no
// peer holds when the daemon knows no dataset record for root.
func (c *Client) Pin(ctx context.Context, root cid.Cid, origin string) (PinStatus, error) {
	var st PinStatus
	err := c.sendJSON(ctx, http.MethodPost, "/v1/pins", PinRequest{CID: CID(root), Origin: origin}, &st)
	return st, err
}

// Pins lists every pin and its progress.
func (c *Client) Pins(ctx context.Context) ([]PinStatus, error) {
	var out pinsResponse
	err := c.getJSON(ctx, "/v1/pins", &out)
	return out.Pins, err
}

// PinStatus reports one pin's progress.
func (c *Client) PinStatus(ctx context.Context, root cid.Cid) (PinStatus, error) {
	var st PinStatus
	err := c.getJSON(ctx, "/v1/pins/"+Canonical(root), &st)
	return st, err
}

// Unpin removes a pin (cancelling it if still in progress).
func (c *Client) Unpin(ctx context.Context, root cid.Cid) error {
	return c.sendJSON(ctx, http.MethodDelete, "/v1/pins/"+Canonical(root), nil, nil)
}

// WaitPin polls the pin every interval (DefaultPollInterval when 0), calling
// progress (if not nil) with each status, until it is pinned, fails (an
// *Error with code pin_failed carrying the pin's error) or ctx ends.
func (c *Client) WaitPin(ctx context.Context, root cid.Cid, interval time.Duration, progress func(PinStatus)) (PinStatus, error) {
	return poll(ctx, interval, func() (PinStatus, bool, error) {
		st, err := c.PinStatus(ctx, root)
		if err != nil {
			return st, false, err
		}
		if progress != nil {
			progress(st)
		}
		if st.State == PinFailed {
			return st, true, &Error{Code: CodePinFailed, Message: fmt.Sprintf("pin %s failed: %s", Canonical(root), st.Error)}
		}
		return st, st.State == PinPinned, nil
	})
}

// Publish starts publishing a dataset and returns the job's status.
func (c *Client) Publish(ctx context.Context, req PublishRequest) (PublishStatus, error) {
	var st PublishStatus
	err := c.sendJSON(ctx, http.MethodPost, "/v1/datasets", req, &st)
	return st, err
}

// PublishStatus reports a publish job's progress.
func (c *Client) PublishStatus(ctx context.Context, id string) (PublishStatus, error) {
	var st PublishStatus
	err := c.getJSON(ctx, "/v1/datasets/jobs/"+url.PathEscape(id), &st)
	return st, err
}

// WaitPublish polls a publish job like WaitPin; a failed job is an *Error
// with code publish_failed.
func (c *Client) WaitPublish(ctx context.Context, id string, interval time.Duration, progress func(PublishStatus)) (PublishStatus, error) {
	return poll(ctx, interval, func() (PublishStatus, bool, error) {
		st, err := c.PublishStatus(ctx, id)
		if err != nil {
			return st, false, err
		}
		if progress != nil {
			progress(st)
		}
		if st.State == PublishFailed {
			return st, true, &Error{Code: CodePublishFailed, Message: fmt.Sprintf("publish %s from %s failed: %s", id, st.Origin, st.Error)}
		}
		return st, st.State == PublishDone, nil
	})
}

// poll calls check every interval until it reports done or fails; on
// failure it returns the last status it saw.
func poll[T any](ctx context.Context, interval time.Duration, check func() (T, bool, error)) (T, error) {
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	var last T
	for {
		v, done, err := check()
		switch {
		case done:
			return v, err
		case err != nil:
			return last, err
		}
		last = v
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-t.C:
		}
	}
}

// GC collects garbage: every block no pin reaches.
func (c *Client) GC(ctx context.Context) (GCResult, error) {
	var res GCResult
	err := c.sendJSON(ctx, http.MethodPost, "/v1/gc", nil, &res)
	return res, err
}

// Stats reports the daemon's usage and counters.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	err := c.getJSON(ctx, "/v1/stats", &st)
	return st, err
}

// ID reports the daemon's identity in the mesh.
func (c *Client) ID(ctx context.Context) (Identity, error) {
	var id Identity
	err := c.getJSON(ctx, "/v1/id", &id)
	return id, err
}

// Peers lists the mesh peers.
func (c *Client) Peers(ctx context.Context) ([]PeerInfo, error) {
	var out peersResponse
	err := c.getJSON(ctx, "/v1/peers", &out)
	return out.Peers, err
}

// Metrics returns the Prometheus metrics text.
func (c *Client) Metrics(ctx context.Context) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, "/metrics", nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
