package client

import (
	"context"
	"net/http"

	"github.com/clauderon/clauderon/api"
)

// UILogin asks the daemon for a one-time URL that logs a browser in to the
// web UI (valid 2 minutes, once).
func (c *Client) UILogin(ctx context.Context) (api.UILogin, error) {
	var l api.UILogin
	return l, c.call(ctx, http.MethodPost, "/ui/login", nil, &l)
}

// MCPInfo returns the MCP endpoint's URL and bearer token.
func (c *Client) MCPInfo(ctx context.Context) (api.MCPInfo, error) {
	var m api.MCPInfo
	return m, c.call(ctx, http.MethodGet, "/mcp", nil, &m)
}
