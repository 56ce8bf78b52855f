package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend/kubernetes"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/tunnel"
)

// K8sTunnel keeps the daemon's tunnel to the cluster gateway up: the
// intercepted hosts' connections of session pods come back through it to
// the proxy, and the gateway asks through it before it opens a blind
// tunnel. It redials (finding the gateway pod again) whenever it breaks.
type K8sTunnel struct {
	client *tunnel.Client
	proxy  *proxy.Proxy
	dial   func(context.Context) (net.Conn, error)
}

// NewK8sTunnel returns a tunnel that dials with dial (K8sGatewayDial for a
// cluster) and serves p. intercepted nil means the proxy's own rules.
func NewK8sTunnel(dial func(context.Context) (net.Conn, error), p *proxy.Proxy, intercepted []string, logger *slog.Logger) (*K8sTunnel, error) {
	if dial == nil || p == nil {
		return nil, errors.New("daemon: NewK8sTunnel needs a dial function and a proxy")
	}
	if intercepted == nil {
		intercepted = p.InterceptedHosts()
	}
	c, err := tunnel.NewClient(tunnel.ClientConfig{
		Intercepted: intercepted,
		Authorize: func(head *http.Request) tunnel.Decision {
			d := p.AuthorizeTunnel(head, api.BackendKubernetes)
			return tunnel.Decision{OK: d.OK, Status: d.Status, Message: d.Message, Done: d.Revoked}
		},
		Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	return &K8sTunnel{client: c, proxy: p, dial: dial}, nil
}

// K8sGatewayDial dials the tunnel port of b's gateway pod, found anew on
// every dial, so a recreated gateway is found.
func K8sGatewayDial(b *kubernetes.Backend) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		pod, err := b.GatewayPod(ctx)
		if err != nil {
			return nil, err
		}
		return b.DialPod(ctx, pod, kubernetes.GatewayTunnelPort)
	}
}

// Run keeps the tunnel up and serves its streams until ctx is done; then
// it returns nil.
func (t *K8sTunnel) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	// Only the cluster's sessions are served here, and theirs nowhere else.
	go func() { served <- t.proxy.ServeClass(ctx, t.client.Listener(), api.BackendKubernetes) }()
	err := t.client.Run(ctx, t.dial)
	cancel()
	if serr := <-served; serr != nil && err == nil && !errors.Is(serr, net.ErrClosed) {
		err = fmt.Errorf("daemon: serving the cluster tunnel: %w", serr)
	}
	return err
}

// State is the tunnel's state, for doctor.
func (t *K8sTunnel) State() tunnel.State { return t.client.State() }
