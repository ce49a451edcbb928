package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/api"
)

// poll is how often a job's status is asked: fine enough that it adds
// little to a run of seconds, coarse enough to cost the daemon nothing.
const poll = 5 * time.Millisecond

// publish publishes originURL through d and returns the root CID and the
// run, from the request to the job's completion as the client sees it.
func (d *daemon) publish(ctx context.Context, originURL string, size int64) (string, run, error) {
	cpu0 := d.cpu()
	t0 := time.Now()
	st, err := d.client.Publish(ctx, api.PublishRequest{Origin: originURL})
	if err != nil {
		return "", run{}, err
	}
	st, err = d.client.WaitPublish(ctx, st.ID, poll, nil)
	wall := time.Since(t0)
	if err != nil {
		return "", run{}, err
	}
	return st.Root.String(), run{Wall: wall, CPU: d.cpu() - cpu0, Bytes: size}, nil
}

// pin pins root through d (reading originURL) and waits for it. With
// fromOrigin set, every byte must have come from the origin (a cold pin).
func (d *daemon) pin(ctx context.Context, root, originURL string, fromOrigin bool) (run, error) {
	c, err := cid.Decode(root)
	if err != nil {
		return run{}, err
	}
	cpu0 := d.cpu()
	t0 := time.Now()
	if _, err := d.client.Pin(ctx, c, originURL); err != nil {
		return run{}, err
	}
	st, err := d.client.WaitPin(ctx, c, poll, nil)
	wall := time.Since(t0)
	if err != nil {
		return run{}, err
	}
	if fromOrigin && st.BySource.Origin != st.BytesTotal {
		return run{}, fmt.Errorf("pin %s read %d bytes from the origin, want all %d", root, st.BySource.Origin, st.BytesTotal)
	}
	return run{Wall: wall, CPU: d.cpu() - cpu0, Bytes: st.BytesTotal}, nil
}
