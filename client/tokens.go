package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/clauderon/clauderon/api"
)

func tokenPath(name string) string { return "/tokens/" + url.PathEscape(name) }

// TokenStatus says where the daemon finds the named credential, without
// revealing it.
func (c *Client) TokenStatus(ctx context.Context, name string) (api.TokenStatus, error) {
	var st api.TokenStatus
	return st, c.call(ctx, http.MethodGet, tokenPath(name), nil, &st)
}

// SetToken stores tok in the daemon's keychain under name. tok is the one
// credential that crosses the socket, and only towards the daemon (see
// api.TokenValue); it is a plain string so that client/ needs nothing of
// the credential store's. The daemon checks it (an error wrapping
// ErrBadRequest when it is not a credential of that kind) and its proxy uses
// it from the next request on, unless the daemon's environment overrides
// it; the returned status says so.
func (c *Client) SetToken(ctx context.Context, name, tok string) (api.TokenStatus, error) {
	var st api.TokenStatus
	return st, c.call(ctx, http.MethodPut, tokenPath(name), api.TokenValue{Token: tok}, &st)
}

// DeleteToken removes name from the daemon's keychain. It returns an error
// wrapping ErrNotFound when there was no such entry.
func (c *Client) DeleteToken(ctx context.Context, name string) (api.TokenStatus, error) {
	var st api.TokenStatus
	return st, c.call(ctx, http.MethodDelete, tokenPath(name), nil, &st)
}
