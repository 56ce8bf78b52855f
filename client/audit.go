package client

import (
	"context"
	"net/http"
	"strconv"

	"github.com/clauderon/clauderon/api"
)

// Audit returns the latest limit lines of a session's audit log, newest
// first (limit 0: the daemon's default of 50; at most 1000).
func (c *Client) Audit(ctx context.Context, name string, limit int) (api.Audit, error) {
	p := sessionPath(name, "/audit")
	if limit > 0 {
		p += "?limit=" + strconv.Itoa(limit)
	}
	var a api.Audit
	return a, c.call(ctx, http.MethodGet, p, nil, &a)
}
