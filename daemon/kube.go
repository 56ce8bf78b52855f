package daemon

import (
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"

	"github.com/clauderon/clauderon/backend/kubernetes"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/session"
)

// DefaultGatewayImage is the gateway's image unless config.json's
// kubernetes.gateway_image says otherwise; `clauderon k8s setup` installs
// the same.
const DefaultGatewayImage = kubernetes.GatewayName + ":dev"

// setupKubernetes makes the Kubernetes backend when config.json has a
// kubernetes section. It does not contact the cluster: one that cannot be
// reached must not keep the daemon, or Docker's sessions, from running.
func (d *Daemon) setupKubernetes() (*session.KubeConfig, error) {
	k := d.conf.Kubernetes
	if k == nil {
		return nil, nil
	}
	kb, err := kubernetes.New(kubernetes.Config{
		Kubeconfig:      k.Kubeconfig,
		Context:         k.Context,
		Namespace:       k.Namespace,
		ImagePullPolicy: corev1.PullPolicy(k.ImagePullPolicy),
		ToolsImage:      d.gatewayImage(),
		StorageClass:    k.StorageClass,
		WorkspaceSize:   k.WorkspaceSize,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: kubernetes: %w", filepath.Join(d.cfg.Home, config.FileName), err)
	}
	d.kube = kb
	if d.k8sTunnel, err = NewK8sTunnel(K8sGatewayDial(kb), d.proxy, nil, d.log.With("part", "k8s-tunnel")); err != nil {
		return nil, err
	}
	return &session.KubeConfig{
		Backend:   kb,
		ProxyAddr: kb.GatewayAddr,
		Limits:    session.Limits{CPUs: k.CPUs, MemoryBytes: k.MemoryBytes},
	}, nil
}

// gatewayImage is the cluster gateway's image.
func (d *Daemon) gatewayImage() string {
	if k := d.conf.Kubernetes; k != nil && k.GatewayImage != "" {
		return k.GatewayImage
	}
	return DefaultGatewayImage
}
