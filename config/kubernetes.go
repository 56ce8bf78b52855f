package config

import (
	"fmt"
	"regexp"
)

// Kubernetes configures the Kubernetes backend; a config.json without
// this section has none, and `create --backend kubernetes` says how to add
// it.
type Kubernetes struct {
	// Kubeconfig is the kubeconfig file; "" uses $KUBECONFIG, then
	// ~/.kube/config.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context; "" uses its current one.
	Context string `json:"context,omitempty"`
	// Namespace holds the sessions' pods and the gateway; "" is clauderon.
	Namespace string `json:"namespace,omitempty"`
	// StorageClass is the workspaces' volumes' class; "" is the cluster's default.
	StorageClass string `json:"storage_class,omitempty"`
	// WorkspaceSize is a workspace volume's size, e.g. "20Gi"; "" is 10Gi.
	WorkspaceSize string `json:"workspace_size,omitempty"`
	// ImagePullPolicy is the pods' pull policy: Always, IfNotPresent (the
	// default) or Never.
	ImagePullPolicy string `json:"image_pull_policy,omitempty"`
	// GatewayImage is the gateway's image (which session pods' init
	// container also runs); "" is clauderon-gateway:dev (daemon.DefaultGatewayImage).
	GatewayImage string `json:"gateway_image,omitempty"`
	// CPUs and MemoryBytes are a session pod's limits unless create says
	// otherwise; 0 is the container section's (or clauderon's defaults).
	CPUs        float64 `json:"cpus,omitempty"`
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
}

// Backends a config.json's default_backend may name.
const (
	BackendDocker     = "docker"
	BackendKubernetes = "kubernetes"
)

var dns1123 = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

func (c *Config) checkKubernetes() error {
	switch c.DefaultBackend {
	case "", BackendDocker:
	case BackendKubernetes:
		if c.Kubernetes == nil {
			return fmt.Errorf("default_backend is kubernetes, but there is no kubernetes section")
		}
	default:
		return fmt.Errorf("default_backend %q: want docker or kubernetes", c.DefaultBackend)
	}
	k := c.Kubernetes
	if k == nil {
		return nil
	}
	if k.Namespace != "" && !dns1123.MatchString(k.Namespace) {
		return fmt.Errorf("kubernetes.namespace %q is not a valid namespace name (lowercase letters, digits and '-', at most 63)", k.Namespace)
	}
	switch k.ImagePullPolicy {
	case "", "Always", "IfNotPresent", "Never":
	default:
		return fmt.Errorf("kubernetes.image_pull_policy %q: want Always, IfNotPresent or Never", k.ImagePullPolicy)
	}
	if k.CPUs < 0 || k.MemoryBytes < 0 {
		return fmt.Errorf("kubernetes limits cannot be negative")
	}
	return nil
}
