package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/clauderon/clauderon/api"
)

// WatchOptions say what a Watch receives.
type WatchOptions struct {
	// Audit adds the proxy's audit lines (api.EventAudit).
	Audit bool
}

// Events is a stream of the daemon's events (Watch). Not safe for
// concurrent use.
type Events struct {
	c    *Client
	ctx  context.Context
	body io.ReadCloser
	dec  *json.Decoder
}

// Watch subscribes to the daemon's events: a snapshot of every session
// first, then each change as it happens. The stream ends when ctx does, the
// daemon drains, or the subscriber read too slowly (its last event is then
// a resync: Watch again for a fresh snapshot).
func (c *Client) Watch(ctx context.Context, o WatchOptions) (*Events, error) {
	q := ""
	if o.Audit {
		q = "?audit=1"
	}
	resp, err := c.do(ctx, http.MethodGet, "/events"+q, nil)
	if err != nil {
		return nil, err
	}
	return &Events{c: c, ctx: ctx, body: resp.Body, dec: json.NewDecoder(resp.Body)}, nil
}

// Next returns the next event. At the stream's end it returns io.EOF
// (after a resync event, or when the daemon drained), or ctx's error.
func (e *Events) Next() (api.Event, error) {
	var ev api.Event
	if err := e.dec.Decode(&ev); err != nil {
		if e.ctx.Err() != nil {
			return api.Event{}, e.ctx.Err()
		}
		if errors.Is(err, io.EOF) {
			return api.Event{}, io.EOF
		}
		return api.Event{}, e.c.lost(err)
	}
	return ev, nil
}

// Close ends the stream.
func (e *Events) Close() error { return e.body.Close() }
