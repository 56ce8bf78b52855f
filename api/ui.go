package api

import "time"

// UILogin is the answer of POST /ui/login: a one-time URL that logs a
// browser in to the web UI.
type UILogin struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ImageList is the answer of GET /images: the engine's local images.
type ImageList struct {
	Images []Image `json:"images"`
}

// Image is one local image. ID, Created and Size are empty where the
// engine does not tell them.
type Image struct {
	Ref     string    `json:"ref"`
	ID      string    `json:"id,omitempty"`
	Created time.Time `json:"created,omitzero"`
	Size    int64     `json:"size,omitempty"`
}

// AuditList is the answer of GET /audit: the proxy's latest requests, of
// every session or of one, newest last.
type AuditList struct {
	Entries []AuditEntry `json:"entries"`
	// Partial says older lines may exist beyond the daemon's read bound.
	Partial bool `json:"partial,omitempty"`
}

// MCPInfo is the answer of GET /mcp: where the MCP endpoint is and its
// bearer token (user-only: no session may learn it).
type MCPInfo struct {
	Enabled bool   `json:"enabled"`
	URL     string `json:"url,omitempty"`
	Token   string `json:"token,omitempty"`
	// Error says why the endpoint is off when it should be on.
	Error string `json:"error,omitempty"`
}
