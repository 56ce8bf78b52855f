package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// endpoint is where an object of a kind lives in the API.
type endpoint struct {
	client     rest.Interface
	resource   string
	namespaced bool
}

func (b *Backend) endpointOf(kind string) (endpoint, bool) {
	switch kind {
	case "Namespace":
		return endpoint{b.cs.CoreV1().RESTClient(), "namespaces", false}, true
	case "ServiceAccount":
		return endpoint{b.cs.CoreV1().RESTClient(), "serviceaccounts", true}, true
	case "Service":
		return endpoint{b.cs.CoreV1().RESTClient(), "services", true}, true
	case "Role":
		return endpoint{b.cs.RbacV1().RESTClient(), "roles", true}, true
	case "RoleBinding":
		return endpoint{b.cs.RbacV1().RESTClient(), "rolebindings", true}, true
	case "Deployment":
		return endpoint{b.cs.AppsV1().RESTClient(), "deployments", true}, true
	case "NetworkPolicy":
		return endpoint{b.cs.NetworkingV1().RESTClient(), "networkpolicies", true}, true
	}
	return endpoint{}, false
}

// Apply creates or updates each of objs (as Manifests makes them) by
// server-side apply as FieldManager, forcing its own fields over another
// manager's: what setup installs is what clauderon relies on. It is
// idempotent: applying the same objects again changes nothing. progress
// gets one line per object: created, updated or unchanged.
func (b *Backend) Apply(ctx context.Context, objs []runtime.Object, progress func(string)) error {
	if progress == nil {
		progress = func(string) {}
	}
	for _, o := range objs {
		kind := o.GetObjectKind().GroupVersionKind().Kind
		m, err := meta.Accessor(o)
		if err != nil {
			return fmt.Errorf("backend/kubernetes: apply %s: %w", kind, err)
		}
		ep, ok := b.endpointOf(kind)
		if !ok {
			return fmt.Errorf("backend/kubernetes: apply: kind %q is not one setup makes", kind)
		}
		what := kind + " " + m.GetName()
		if ep.namespaced {
			what = kind + " " + m.GetNamespace() + "/" + m.GetName()
		}
		body, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("backend/kubernetes: apply %s: %w", what, err)
		}
		before, err := b.resourceVersion(ctx, ep, m.GetNamespace(), m.GetName())
		if err != nil {
			return b.wrap(err, "apply "+what)
		}
		req := ep.client.Patch(types.ApplyPatchType).Resource(ep.resource).Name(m.GetName()).
			Param("fieldManager", FieldManager).Param("force", "true").Body(body).SetHeader("Accept", "application/json")
		if ep.namespaced {
			req = req.Namespace(m.GetNamespace())
		}
		got, err := metaOf(req.Do(ctx).Raw())
		if err != nil {
			return b.wrap(err, "apply "+what)
		}
		switch {
		case before == "":
			progress("created " + what)
		case before != got.ResourceVersion:
			progress("updated " + what)
		default:
			progress("unchanged " + what)
		}
	}
	return nil
}

// resourceVersion is the object's, or "" when it does not exist.
func (b *Backend) resourceVersion(ctx context.Context, ep endpoint, ns, name string) (string, error) {
	req := ep.client.Get().Resource(ep.resource).Name(name).SetHeader("Accept", "application/json")
	if ep.namespaced {
		req = req.Namespace(ns)
	}
	got, err := metaOf(req.Do(ctx).Raw())
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	return got.ResourceVersion, err
}

// metaOf decodes an answer's metadata. The requests ask for JSON, whatever the clientset's default content type.
func metaOf(body []byte, err error) (metav1.ObjectMeta, error) {
	var o struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err != nil {
		return o.Metadata, err
	}
	err = json.Unmarshal(body, &o)
	return o.Metadata, err
}

// GatewayStatus is what the cluster says of the gateway's Deployment and Service.
type GatewayStatus struct {
	DeploymentFound bool
	Available       bool   // the Deployment's Available condition, for its current generation
	Ready, Desired  int32  // ready and wanted replicas
	Reason          string // why it is not available, when the cluster says
	ServiceFound    bool
	ClusterIP       string
}

// GatewayStatus looks up the gateway's Deployment and Service in the Backend's namespace.
func (b *Backend) GatewayStatus(ctx context.Context) (GatewayStatus, error) {
	var st GatewayStatus
	d, err := b.cs.AppsV1().Deployments(b.ns).Get(ctx, GatewayName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return st, b.wrap(err, "get the gateway's deployment")
	default:
		st.DeploymentFound = true
		st.Available, st.Reason = deploymentAvailable(d)
		st.Ready, st.Desired = d.Status.ReadyReplicas, ptrOr(d.Spec.Replicas, 1)
	}
	svc, err := b.cs.CoreV1().Services(b.ns).Get(ctx, GatewayName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return st, b.wrap(err, "get the gateway's service")
	default:
		st.ServiceFound = true
		if svc.Spec.ClusterIP != corev1.ClusterIPNone {
			st.ClusterIP = svc.Spec.ClusterIP
		}
	}
	return st, nil
}

// deploymentAvailable says whether d's current generation is rolled out and available, else why not.
func deploymentAvailable(d *appsv1.Deployment) (bool, string) {
	if d.Status.ObservedGeneration < d.Generation {
		return false, "the controller has not seen its latest spec yet"
	}
	want := ptrOr(d.Spec.Replicas, 1)
	var reason string
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue:
			if d.Status.UpdatedReplicas >= want && d.Status.AvailableReplicas >= want {
				return true, ""
			}
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue,
			c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse:
			reason = c.Reason + ": " + c.Message
		}
	}
	if reason == "" {
		reason = fmt.Sprintf("%d of %d replicas ready", d.Status.ReadyReplicas, want)
	}
	return false, reason
}

// WaitGateway waits until the gateway's Deployment is available, reporting
// its state to progress when it changes, or ctx ends. A pod of it that
// cannot start (its image is absent, …) is an error at once.
func (b *Backend) WaitGateway(ctx context.Context, progress func(string)) error {
	if progress == nil {
		progress = func(string) {}
	}
	last := ""
	for {
		st, err := b.GatewayStatus(ctx)
		if err != nil {
			return err
		}
		if st.Available {
			return nil
		}
		line := "waiting for the gateway: "
		if !st.DeploymentFound {
			line += "no Deployment " + b.ns + "/" + GatewayName + " yet"
		} else {
			line += st.Reason
		}
		if perr := b.gatewayPodProblem(ctx); perr != "" {
			return fmt.Errorf("backend/kubernetes: the gateway cannot start: %s", perr)
		}
		if line != last {
			progress(line)
			last = line
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("backend/kubernetes: waiting for the gateway (%s): %w", st.Reason, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// gatewayPodProblem is why a gateway pod's container cannot start, or "".
func (b *Backend) gatewayPodProblem(ctx context.Context) string {
	pods, err := b.cs.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{LabelSelector: AppLabel + "=" + GatewayName})
	if err != nil {
		return ""
	}
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && (waitingErrors[w.Reason] || w.Reason == "CrashLoopBackOff") {
				return fmt.Sprintf("pod %s: %s: %s", p.Name, w.Reason, w.Message)
			}
		}
	}
	return ""
}
