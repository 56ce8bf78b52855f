package client

import (
	"context"
	"net/http"

	"github.com/clauderon/clauderon/api"
)

// Images lists the engine's local images.
func (c *Client) Images(ctx context.Context) (api.ImageList, error) {
	var l api.ImageList
	return l, c.call(ctx, http.MethodGet, "/images", nil, &l)
}
