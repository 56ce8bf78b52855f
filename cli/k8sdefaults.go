package cli

import (
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/daemon"
)

// k8sDefaults are `k8s setup`'s defaults from config.json's kubernetes
// section, so the cluster it sets up is the one the daemon uses.
func k8sDefaults() K8sSetup {
	home, err := config.Home()
	if err != nil {
		return K8sSetup{}
	}
	c, err := config.Load(home)
	if err != nil || c.Kubernetes == nil {
		return K8sSetup{GatewayImage: daemon.DefaultGatewayImage}
	}
	k := c.Kubernetes
	img := k.GatewayImage
	if img == "" {
		img = daemon.DefaultGatewayImage
	}
	return K8sSetup{Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace, GatewayImage: img}
}
