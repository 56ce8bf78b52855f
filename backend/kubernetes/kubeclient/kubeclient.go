// Package kubeclient is a small typed client, on client-go's rest package,
// for the few Kubernetes resources clauderon uses, with a scheme of only
// their API groups.
//
// client-go's generated clientset (k8s.io/client-go/kubernetes) imports every
// API group, and each group's package init registers all of its types: that
// cost every daemon about 10 MB of memory, even with no cluster configured.
// The methods here mirror the clientset's, so call sites read the same.
package kubeclient

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

var (
	// Scheme knows the groups the client speaks: core, apps, networking,
	// rbac and authorization, all v1.
	Scheme = runtime.NewScheme()
	// Codecs are Scheme's serializers.
	Codecs = serializer.NewCodecFactory(Scheme)
	// ParameterCodec encodes options as query parameters.
	ParameterCodec = runtime.NewParameterCodec(Scheme)
)

func init() {
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, networkingv1.AddToScheme, rbacv1.AddToScheme,
		authorizationv1.AddToScheme,
	} {
		if err := add(Scheme); err != nil {
			panic(err)
		}
	}
}

// Defaults for a config that sets no client-side rate limit; client-go's
// (5 per second, bursts of 10, per group) made twenty sessions starting
// at once wait on the client rather than the cluster.
const (
	DefaultQPS   = 50
	DefaultBurst = 100
)

// Client holds one REST client per API group, sharing one HTTP client and
// one rate limiter.
type Client struct {
	core, apps, networking, rbac, authorization *rest.RESTClient
}

// New returns a Client for cfg. It does not contact the cluster.
func New(cfg *rest.Config) (*Client, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	if cfg.RateLimiter == nil {
		if cfg.QPS == 0 {
			cfg.QPS, cfg.Burst = DefaultQPS, DefaultBurst
		}
		if cfg.QPS > 0 {
			if cfg.Burst <= 0 {
				// A bucket of no tokens would refuse every request.
				return nil, fmt.Errorf("kubeclient: a QPS of %v needs a burst above 0, not %d", cfg.QPS, cfg.Burst)
			}
			cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
		}
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeclient: %w", err)
	}
	c := &Client{}
	for _, g := range []struct {
		to      **rest.RESTClient
		gv      schema.GroupVersion
		apiPath string
	}{
		{&c.core, corev1.SchemeGroupVersion, "/api"},
		{&c.apps, appsv1.SchemeGroupVersion, "/apis"},
		{&c.networking, networkingv1.SchemeGroupVersion, "/apis"},
		{&c.rbac, rbacv1.SchemeGroupVersion, "/apis"},
		{&c.authorization, authorizationv1.SchemeGroupVersion, "/apis"},
	} {
		gc := rest.CopyConfig(cfg)
		gv := g.gv
		gc.GroupVersion, gc.APIPath = &gv, g.apiPath
		gc.NegotiatedSerializer = Codecs.WithoutConversion()
		if *g.to, err = rest.RESTClientForConfigAndClient(gc, hc); err != nil {
			return nil, fmt.Errorf("kubeclient: %s: %w", gv, err)
		}
	}
	return c, nil
}

// CoreV1 is the core group.
func (c *Client) CoreV1() CoreV1 { return CoreV1{c.core} }

// AppsV1 is the apps group.
func (c *Client) AppsV1() AppsV1 { return AppsV1{c.apps} }

// NetworkingV1 is the networking.k8s.io group.
func (c *Client) NetworkingV1() NetworkingV1 { return NetworkingV1{c.networking} }

// RbacV1 is the rbac.authorization.k8s.io group.
func (c *Client) RbacV1() RbacV1 { return RbacV1{c.rbac} }

// AuthorizationV1 is the authorization.k8s.io group.
func (c *Client) AuthorizationV1() AuthorizationV1 { return AuthorizationV1{c.authorization} }

// object is a pointer to a resource's type; list a pointer to its list's.
type object[T any] interface {
	*T
	runtime.Object
	metav1.Object
}

type list[L any] interface {
	*L
	runtime.Object
}

// Resource is one kind of object, in one namespace or (ns "") cluster-wide.
type Resource[T, L any, PT object[T], PL list[L]] struct {
	c        rest.Interface
	ns, name string
}

func (r Resource[T, L, PT, PL]) on(req *rest.Request) *rest.Request {
	return req.NamespaceIfScoped(r.ns, r.ns != "").Resource(r.name)
}

// Get reads the object named name.
func (r Resource[T, L, PT, PL]) Get(ctx context.Context, name string, o metav1.GetOptions) (*T, error) {
	out := PT(new(T))
	err := r.on(r.c.Get()).Name(name).VersionedParams(&o, ParameterCodec).Do(ctx).Into(out)
	return (*T)(out), err
}

// List reads the objects o selects.
func (r Resource[T, L, PT, PL]) List(ctx context.Context, o metav1.ListOptions) (*L, error) {
	out := PL(new(L))
	err := r.on(r.c.Get()).VersionedParams(&o, ParameterCodec).Timeout(timeout(o)).Do(ctx).Into(out)
	return (*L)(out), err
}

// Watch watches the objects o selects.
func (r Resource[T, L, PT, PL]) Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	o.Watch = true
	return r.on(r.c.Get()).VersionedParams(&o, ParameterCodec).Timeout(timeout(o)).Watch(ctx)
}

// Create makes obj and returns what the server stored.
func (r Resource[T, L, PT, PL]) Create(ctx context.Context, obj *T, o metav1.CreateOptions) (*T, error) {
	out := PT(new(T))
	err := r.on(r.c.Post()).VersionedParams(&o, ParameterCodec).Body(PT(obj)).Do(ctx).Into(out)
	return (*T)(out), err
}

// Update replaces the object named like obj.
func (r Resource[T, L, PT, PL]) Update(ctx context.Context, obj *T, o metav1.UpdateOptions) (*T, error) {
	out := PT(new(T))
	err := r.on(r.c.Put()).Name(PT(obj).GetName()).VersionedParams(&o, ParameterCodec).Body(PT(obj)).Do(ctx).Into(out)
	return (*T)(out), err
}

// Patch applies data, a patch of type pt, to the object named name.
func (r Resource[T, L, PT, PL]) Patch(ctx context.Context, name string, pt types.PatchType, data []byte, o metav1.PatchOptions, subresources ...string) (*T, error) {
	out := PT(new(T))
	err := r.on(r.c.Patch(pt)).Name(name).SubResource(subresources...).VersionedParams(&o, ParameterCodec).Body(data).Do(ctx).Into(out)
	return (*T)(out), err
}

// Delete deletes the object named name.
func (r Resource[T, L, PT, PL]) Delete(ctx context.Context, name string, o metav1.DeleteOptions) error {
	return r.on(r.c.Delete()).Name(name).Body(&o).Do(ctx).Error()
}

// DeleteCollection deletes the objects lo selects.
func (r Resource[T, L, PT, PL]) DeleteCollection(ctx context.Context, o metav1.DeleteOptions, lo metav1.ListOptions) error {
	return r.on(r.c.Delete()).VersionedParams(&lo, ParameterCodec).Timeout(timeout(lo)).Body(&o).Do(ctx).Error()
}

func timeout(o metav1.ListOptions) time.Duration {
	if o.TimeoutSeconds == nil {
		return 0
	}
	return time.Duration(*o.TimeoutSeconds) * time.Second
}
