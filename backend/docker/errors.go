package docker

import (
	"errors"
	"fmt"
	"net"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/client"

	"github.com/clauderon/clauderon/backend"
)

// wrap turns an engine error into one wrapping backend.ErrEngineUnreachable
// when the engine cannot be reached, or adds what was being done otherwise.
// Callers that know what a 404 or 409 means map those themselves first.
func (b *Backend) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	if unreachable(err) {
		return unreachableError{host: b.cli.DaemonHost()}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unreachableError says where the engine was expected and how to start it;
// it is a backend.ErrEngineUnreachable.
type unreachableError struct{ host string }

func (e unreachableError) Error() string {
	return "cannot reach the Docker engine at " + e.host +
		": is dockerd running? (start it with `sudo systemctl start docker` or `sudo dockerd`)"
}

func (e unreachableError) Unwrap() error { return backend.ErrEngineUnreachable }

func unreachable(err error) bool {
	if client.IsErrConnectionFailed(err) {
		return true
	}
	// Hijacked requests (attach) dial on their own and return the bare dial error.
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// wrapContainer maps a 404 to backend.ErrNotFound.
func (b *Backend) wrapContainer(err error, what, id string) error {
	if err != nil && cerrdefs.IsNotFound(err) && !unreachable(err) {
		return fmt.Errorf("%s %s: %w", what, id, backend.ErrNotFound)
	}
	return b.wrap(err, what+" "+id)
}
