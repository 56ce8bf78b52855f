package kubeclient

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// The resources, each of one kind.
type (
	ConfigMaps             = Resource[corev1.ConfigMap, corev1.ConfigMapList, *corev1.ConfigMap, *corev1.ConfigMapList]
	Secrets                = Resource[corev1.Secret, corev1.SecretList, *corev1.Secret, *corev1.SecretList]
	PersistentVolumeClaims = Resource[corev1.PersistentVolumeClaim, corev1.PersistentVolumeClaimList, *corev1.PersistentVolumeClaim, *corev1.PersistentVolumeClaimList]
	Services               = Resource[corev1.Service, corev1.ServiceList, *corev1.Service, *corev1.ServiceList]
	ServiceAccounts        = Resource[corev1.ServiceAccount, corev1.ServiceAccountList, *corev1.ServiceAccount, *corev1.ServiceAccountList]
	Namespaces             = Resource[corev1.Namespace, corev1.NamespaceList, *corev1.Namespace, *corev1.NamespaceList]
	Nodes                  = Resource[corev1.Node, corev1.NodeList, *corev1.Node, *corev1.NodeList]
	Deployments            = Resource[appsv1.Deployment, appsv1.DeploymentList, *appsv1.Deployment, *appsv1.DeploymentList]
	NetworkPolicies        = Resource[networkingv1.NetworkPolicy, networkingv1.NetworkPolicyList, *networkingv1.NetworkPolicy, *networkingv1.NetworkPolicyList]
	Roles                  = Resource[rbacv1.Role, rbacv1.RoleList, *rbacv1.Role, *rbacv1.RoleList]
	RoleBindings           = Resource[rbacv1.RoleBinding, rbacv1.RoleBindingList, *rbacv1.RoleBinding, *rbacv1.RoleBindingList]
	ClusterRoles           = Resource[rbacv1.ClusterRole, rbacv1.ClusterRoleList, *rbacv1.ClusterRole, *rbacv1.ClusterRoleList]
)

// CoreV1 is the core group's resources.
type CoreV1 struct{ c rest.Interface }

// RESTClient is the group's REST client, for subresources such as exec.
func (g CoreV1) RESTClient() rest.Interface { return g.c }

// Pods in namespace ns.
func (g CoreV1) Pods(ns string) Pods {
	return Pods{Resource[corev1.Pod, corev1.PodList, *corev1.Pod, *corev1.PodList]{g.c, ns, "pods"}}
}

// ConfigMaps in namespace ns.
func (g CoreV1) ConfigMaps(ns string) ConfigMaps { return ConfigMaps{g.c, ns, "configmaps"} }

// Secrets in namespace ns (only tests use them: the backend's Role may not).
func (g CoreV1) Secrets(ns string) Secrets { return Secrets{g.c, ns, "secrets"} }

// PersistentVolumeClaims in namespace ns.
func (g CoreV1) PersistentVolumeClaims(ns string) PersistentVolumeClaims {
	return PersistentVolumeClaims{g.c, ns, "persistentvolumeclaims"}
}

// Services in namespace ns.
func (g CoreV1) Services(ns string) Services { return Services{g.c, ns, "services"} }

// ServiceAccounts in namespace ns.
func (g CoreV1) ServiceAccounts(ns string) ServiceAccounts {
	return ServiceAccounts{g.c, ns, "serviceaccounts"}
}

// Namespaces, cluster-wide.
func (g CoreV1) Namespaces() Namespaces { return Namespaces{g.c, "", "namespaces"} }

// Nodes, cluster-wide.
func (g CoreV1) Nodes() Nodes { return Nodes{g.c, "", "nodes"} }

// Pods are a namespace's pods, with their logs.
type Pods struct {
	Resource[corev1.Pod, corev1.PodList, *corev1.Pod, *corev1.PodList]
}

// GetLogs is the request for pod name's log.
func (p Pods) GetLogs(name string, o *corev1.PodLogOptions) *rest.Request {
	return p.on(p.c.Get()).Name(name).SubResource("log").VersionedParams(o, ParameterCodec)
}

// AppsV1 is the apps group's resources.
type AppsV1 struct{ c rest.Interface }

// RESTClient is the group's REST client.
func (g AppsV1) RESTClient() rest.Interface { return g.c }

// Deployments in namespace ns.
func (g AppsV1) Deployments(ns string) Deployments { return Deployments{g.c, ns, "deployments"} }

// NetworkingV1 is the networking.k8s.io group's resources.
type NetworkingV1 struct{ c rest.Interface }

// RESTClient is the group's REST client.
func (g NetworkingV1) RESTClient() rest.Interface { return g.c }

// NetworkPolicies in namespace ns.
func (g NetworkingV1) NetworkPolicies(ns string) NetworkPolicies {
	return NetworkPolicies{g.c, ns, "networkpolicies"}
}

// RbacV1 is the rbac.authorization.k8s.io group's resources.
type RbacV1 struct{ c rest.Interface }

// RESTClient is the group's REST client.
func (g RbacV1) RESTClient() rest.Interface { return g.c }

// Roles in namespace ns.
func (g RbacV1) Roles(ns string) Roles { return Roles{g.c, ns, "roles"} }

// RoleBindings in namespace ns.
func (g RbacV1) RoleBindings(ns string) RoleBindings { return RoleBindings{g.c, ns, "rolebindings"} }

// ClusterRoles, cluster-wide.
func (g RbacV1) ClusterRoles() ClusterRoles { return ClusterRoles{g.c, "", "clusterroles"} }

// AuthorizationV1 is the authorization.k8s.io group's resources.
type AuthorizationV1 struct{ c rest.Interface }

// SelfSubjectAccessReviews asks what the client's own identity may do.
func (g AuthorizationV1) SelfSubjectAccessReviews() SelfSubjectAccessReviews {
	return SelfSubjectAccessReviews{g.c}
}

// SelfSubjectAccessReviews are created, never read back.
type SelfSubjectAccessReviews struct{ c rest.Interface }

// Create asks the server whether the client may do rev's action.
func (s SelfSubjectAccessReviews) Create(ctx context.Context, rev *authorizationv1.SelfSubjectAccessReview, o metav1.CreateOptions) (*authorizationv1.SelfSubjectAccessReview, error) {
	out := &authorizationv1.SelfSubjectAccessReview{}
	err := s.c.Post().Resource("selfsubjectaccessreviews").VersionedParams(&o, ParameterCodec).Body(rev).Do(ctx).Into(out)
	return out, err
}
