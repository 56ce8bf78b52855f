package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/clauderon/clauderon/secret"
)

// TokenValue is the body of PUT /tokens/{name}. It is the only LocalAPI type
// that carries a credential in the clear, and only towards the daemon, over
// the 0600 unix socket; no answer ever carries one back.
type TokenValue struct {
	Token string `json:"token"`
}

func tokenPath(name string) string { return "/tokens/" + url.PathEscape(name) }

// TokenStatus says where the daemon finds the named credential, without
// revealing it.
func (c *Client) TokenStatus(ctx context.Context, name string) (secret.Status, error) {
	var st secret.Status
	return st, c.call(ctx, http.MethodGet, tokenPath(name), nil, &st)
}

// SetToken stores tok in the daemon's keychain under name. The daemon checks
// it (an error wrapping ErrBadRequest when it is not a credential of that
// kind) and its proxy uses it from the next request on, unless the daemon's
// environment overrides it; the returned Status says so.
func (c *Client) SetToken(ctx context.Context, name string, tok secret.Token) (secret.Status, error) {
	var st secret.Status
	return st, c.call(ctx, http.MethodPut, tokenPath(name), TokenValue{Token: tok.Reveal()}, &st)
}

// DeleteToken removes name from the daemon's keychain. It returns an error
// wrapping ErrNotFound when there was no such entry.
func (c *Client) DeleteToken(ctx context.Context, name string) (secret.Status, error) {
	var st secret.Status
	return st, c.call(ctx, http.MethodDelete, tokenPath(name), nil, &st)
}
