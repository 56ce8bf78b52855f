package client

import (
	"context"
	"net/http"
	"net/url"
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

// RecentAudit returns the proxy's latest requests of every session (or of
// session, when not empty), newest last; limit 0 is the daemon's default.
func (c *Client) RecentAudit(ctx context.Context, session string, limit int) (api.AuditList, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if session != "" {
		q.Set("session", session)
	}
	p := "/audit"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var a api.AuditList
	return a, c.call(ctx, http.MethodGet, p, nil, &a)
}
