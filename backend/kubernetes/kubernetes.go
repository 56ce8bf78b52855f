// Package kubernetes implements backend.Backend on a Kubernetes cluster
// through client-go: a session's container is a Pod.
//
// How Docker's lifecycle maps onto a Pod:
//   - The container's ID is the Pod's name (spec.Name), in the Backend's
//     namespace: names are what every other call is given.
//   - Create creates the Pod with a scheduling gate (SchedulingGate), so it
//     exists but does not run: Inspect and List report it "created".
//   - Start removes the gate and waits until the container runs (or has
//     already exited); a container that cannot start (its image is absent, its
//     user is root, …) is an error, as docker start's would be.
//   - A Pod cannot be started again once it has exited (restartPolicy Never).
//   - Stop sets the Pod's activeDeadlineSeconds to 1 s: the kubelet then
//     stops the container (SIGTERM, SIGKILL after the Pod's grace period)
//     and keeps the Pod, its exit code and its logs, as docker stop keeps
//     the container.
//   - Remove deletes the Pod.
//   - Labels: every label of the Spec is kept in the Pod's annotation
//     LabelsAnnotation (so values a Kubernetes label cannot hold, such as
//     paths, JSON or timestamps, survive), and those that are valid
//     Kubernetes labels are Pod labels too; List and Events select on the
//     server by the valid ones and filter the rest themselves.
package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/kubernetes/kubeclient"
)

const (
	// DefaultNamespace is where pods go unless Config.Namespace says otherwise.
	DefaultNamespace = "clauderon"
	// ContainerName is the name of the one container of a session's Pod.
	ContainerName = "main"
	// SchedulingGate holds a created Pod back until Start.
	SchedulingGate = "dev.clauderon/start"
	// LabelsAnnotation holds the JSON of every label the Spec gave.
	LabelsAnnotation = "dev.clauderon/labels"
)

// Config says which cluster, namespace and pull policy the Backend uses.
type Config struct {
	// Kubeconfig is the kubeconfig file; "" uses $KUBECONFIG, then
	// ~/.kube/config, then the in-cluster config.
	Kubeconfig string
	// Context is the kubeconfig context; "" uses its current context.
	Context string
	// Namespace holds the pods; "" is DefaultNamespace. The Backend does not create it.
	Namespace string
	// ImagePullPolicy is the pods' pull policy: Always, IfNotPresent (the
	// default when "") or Never.
	ImagePullPolicy corev1.PullPolicy
	// ToolsImage is the image holding the static clauderon binary at
	// ToolsBinary (the gateway's image), which each session pod's init
	// container installs; "" gives pods neither it nor writable files.
	ToolsImage string
	// StorageClass is the workspaces' claims' class; "" is the cluster's default.
	StorageClass string
	// WorkspaceSize is a workspace claim's size; "" is DefaultWorkspaceSize.
	WorkspaceSize string
}

// Backend runs containers as Pods in one namespace. Its methods are safe for concurrent use.
type Backend struct {
	cfg  *rest.Config
	cs   *kubeclient.Client
	ns   string
	pull corev1.PullPolicy
	// tools is Config.ToolsImage.
	tools string
	// storageClass and wsSize are Config's StorageClass and WorkspaceSize.
	storageClass, wsSize string
	// walls overrides WallsTimeout (tests).
	walls int

	mu      sync.Mutex
	resizes map[string]*resizeState // pod name → its attaches' size queues
}

var _ backend.Backend = (*Backend)(nil)

// New returns a Backend for the cluster c names. It does not contact the
// cluster: call Ping for that.
func New(c Config) (*Backend, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: c.Context})
	rc, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("backend/kubernetes: kubeconfig: %w", err)
	}
	return newForRest(rc, c)
}

func (c *Config) check() error {
	switch c.ImagePullPolicy {
	case "":
		c.ImagePullPolicy = corev1.PullIfNotPresent
	case corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return fmt.Errorf("backend/kubernetes: image pull policy %q: want Always, IfNotPresent or Never", c.ImagePullPolicy)
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.WorkspaceSize == "" {
		c.WorkspaceSize = DefaultWorkspaceSize
	}
	if _, err := resource.ParseQuantity(c.WorkspaceSize); err != nil {
		return fmt.Errorf("backend/kubernetes: workspace size %q: %w", c.WorkspaceSize, err)
	}
	return nil
}

func newForRest(rc *rest.Config, c Config) (*Backend, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	cs, err := kubeclient.New(rc)
	if err != nil {
		return nil, fmt.Errorf("backend/kubernetes: client: %w", err)
	}
	return &Backend{cfg: rc, cs: cs, ns: c.Namespace, pull: c.ImagePullPolicy, tools: c.ToolsImage, storageClass: c.StorageClass, wsSize: c.WorkspaceSize, resizes: map[string]*resizeState{}}, nil
}

// Namespace is the namespace the Backend's pods are in.
func (b *Backend) Namespace() string { return b.ns }

// ServerVersion asks the API server its version.
func (b *Backend) ServerVersion(ctx context.Context) (version.Info, error) {
	var v version.Info
	body, err := b.cs.CoreV1().RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err != nil {
		return v, b.wrap(err, "server version")
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("backend/kubernetes: server version: %w", err)
	}
	return v, nil
}

// Ping checks that the API server answers.
func (b *Backend) Ping(ctx context.Context) error {
	_, err := b.ServerVersion(ctx)
	return err
}

func notImplemented(what string) error {
	return fmt.Errorf("backend/kubernetes: %s is not implemented yet", what)
}

// ImageExists reports true: a cluster's images are its nodes', pulled by
// the pods' pull policy, and Start says clearly when one is missing.
func (b *Backend) ImageExists(ctx context.Context, ref string) (bool, error) {
	return true, nil
}

// Gateway is "": pods reach the daemon through the cluster's gateway
// Service (GatewayAddr), not a host address.
func (b *Backend) Gateway(ctx context.Context) (string, error) {
	return "", nil
}

// BuildImage is not implemented.
func (b *Backend) BuildImage(ctx context.Context, contextDir, dockerfile, tag string, progress func(line string)) error {
	return notImplemented("BuildImage")
}

// PullImage is not implemented: nodes pull by the pods' pull policy.
func (b *Backend) PullImage(ctx context.Context, ref string, progress func(line string)) error {
	return notImplemented("PullImage")
}

// ImageUser reports root: a node's image cannot be read from here, so a
// session runs as clauderon's fallback user (uid 1000, its own home), which
// is never root.
func (b *Backend) ImageUser(ctx context.Context, ref string) (backend.ImageUser, error) {
	return backend.ImageUser{}, nil
}

// unreachableError wraps backend.ErrEngineUnreachable.
type unreachableError struct {
	host string
	err  error
}

func (e unreachableError) Error() string {
	return "backend/kubernetes: cannot reach the Kubernetes API server at " + e.host + ": " + e.err.Error()
}

func (e unreachableError) Unwrap() error { return backend.ErrEngineUnreachable }

func (b *Backend) wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return unreachableError{host: b.cfg.Host, err: err}
	}
	return fmt.Errorf("backend/kubernetes: %s: %w", what, err)
}

// wrapPod maps a 404 to backend.ErrNotFound.
func (b *Backend) wrapPod(err error, what, id string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("backend/kubernetes: %s %s: %w", what, id, backend.ErrNotFound)
	}
	return b.wrap(err, what+" "+id)
}
