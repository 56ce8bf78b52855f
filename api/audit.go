package api

import "time"

// AuditEntry is one line of the proxy's audit log as the LocalAPI hands it
// out: the JSON fields of proxy.AuditEntry, which holds no header value and
// no credential. It is its own type so that no client need import proxy.
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
