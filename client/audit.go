package client

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// AuditEntry is one line of the proxy's audit log as the LocalAPI hands it
// out: the JSON fields of proxy.AuditEntry, which holds no header value and
// no credential. It is its own type so that client/ need not import proxy.
type AuditEntry struct {
	Time         time.Time `json:"time"`
	Session      string    `json:"session"`
	Host         string    `json:"host"`
	Method       string    `json:"method"`
	Path         string    `json:"path"`
	Status       int       `json:"status"`
	DurationMS   int64     `json:"duration_ms"`
	BytesIn      int64     `json:"bytes_in"`
	BytesOut     int64     `json:"bytes_out"`
	AuthInjected bool      `json:"auth_injected"`
	Intercepted  bool      `json:"intercepted"`
	Error        string    `json:"error,omitempty"`
	Addr         string    `json:"addr,omitempty"`
}

// Audit is the answer of GET /sessions/{name}/audit: one session's proxied
// requests, newest first.
type Audit struct {
	Session string       `json:"session"`
	Entries []AuditEntry `json:"entries"`
	// Partial says the daemon stopped reading at its byte bound before
	// the oldest rotated file's start, so older lines may exist.
	Partial bool `json:"partial,omitempty"`
}

// Audit returns the latest limit lines of a session's audit log, newest
// first (limit 0: the daemon's default of 50; at most 1000).
func (c *Client) Audit(ctx context.Context, name string, limit int) (Audit, error) {
	p := sessionPath(name, "/audit")
	if limit > 0 {
		p += "?limit=" + strconv.Itoa(limit)
	}
	var a Audit
	return a, c.call(ctx, http.MethodGet, p, nil, &a)
}
