// Package docker implements backend.Backend on a Docker engine through its Go client.
package docker

import (
	"context"
	"fmt"

	"github.com/docker/docker/client"

	"github.com/clauderon/clauderon/backend"
)

// Backend talks to one Docker engine. Its methods are safe for concurrent use.
type Backend struct {
	cli     *client.Client
	network string
	users   userCache
}

var _ backend.Backend = (*Backend)(nil)

// Option configures a Backend.
type Option func(*Backend)

// WithNetwork names the network whose gateway Gateway reports; the default is "bridge".
func WithNetwork(name string) Option {
	return func(b *Backend) { b.network = name }
}

// New returns a Backend for the engine named by the environment (DOCKER_HOST,
// DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, DOCKER_API_VERSION), negotiating the API
// version on first use. It does not contact the engine: call Ping for that.
func New(opts ...Option) (*Backend, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	b := &Backend{cli: cli, network: "bridge"}
	for _, o := range opts {
		o(b)
	}
	return b, nil
}

// Close releases the client's idle connections.
func (b *Backend) Close() error { return b.cli.Close() }

// Ping checks that the engine answers.
func (b *Backend) Ping(ctx context.Context) error {
	if _, err := b.cli.Ping(ctx); err != nil {
		return b.wrap(err, "ping")
	}
	return nil
}
