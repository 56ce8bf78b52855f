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

// DailyBudget is the day's budget across sessions and what it spent.
func (c *Client) DailyBudget(ctx context.Context) (api.DailyBudget, error) {
	var b api.DailyBudget
	return b, c.call(ctx, http.MethodGet, "/budget", nil, &b)
}

// SetDailyBudget changes the day's budget across sessions at once (and in
// config.json, so it outlives the daemon).
func (c *Client) SetDailyBudget(ctx context.Context, usd float64) (api.DailyBudget, error) {
	var b api.DailyBudget
	return b, c.call(ctx, http.MethodPut, "/budget", api.SetDailyBudget{USD: &usd}, &b)
}
