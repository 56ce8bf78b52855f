package client

import (
	"context"
	"net/http"

	"github.com/clauderon/clauderon/api"
)

// SetBudget changes a session's budget at once; the proxy's next check
// sees it.
func (c *Client) SetBudget(ctx context.Context, name string, b api.SetBudget) (api.Session, error) {
	var s api.Session
	return s, c.call(ctx, http.MethodPost, sessionPath(name, "/budget"), b, &s)
}
