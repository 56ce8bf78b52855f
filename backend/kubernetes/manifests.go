package kubernetes

import (
	"bytes"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/clauderon/clauderon/backend/kubernetes/kubeclient"
)

// Names and labels of what `clauderon k8s setup` installs.
const (
	// AppLabel is the label NetworkPolicies and the gateway's Service select on.
	AppLabel = "app.kubernetes.io/name"
	// SessionApp is AppLabel's value on session pods.
	SessionApp = "clauderon-session"
	// GatewayName names the gateway's Deployment, Service, ServiceAccount
	// and NetworkPolicy, and is AppLabel's value on its pods.
	GatewayName = "clauderon-gateway"
	// DaemonServiceAccount is the identity the daemon may use in the namespace.
	DaemonServiceAccount = "clauderon"
	// RoleName names the Role (and RoleBinding) of the daemon's rights.
	RoleName = "clauderon"
	// SessionsPolicyName names the NetworkPolicy of the session pods.
	SessionsPolicyName = "clauderon-sessions"
	// GatewayPort is where the gateway listens for the pods' proxy connections.
	GatewayPort = 3128
	// GatewayTunnelAddr is where the gateway waits for the daemon's tunnel:
	// its own loopback, so only a port-forward reaches it.
	GatewayTunnelAddr = "127.0.0.1:3129"
	// GatewayUID runs the gateway: the conventional "nonroot" of distroless images.
	GatewayUID = 65532
	// FieldManager is who Apply's server-side applies are by.
	FieldManager = "clauderon"
)

// GatewayPrivateRanges are the destinations the gateway's NetworkPolicy
// refuses: private, shared, loopback, link-local, and the documentation
// range the test cluster's node is in. The gateway's own dial policy refuses
// them too; the policy holds even if that code has a bug.
var GatewayPrivateRanges = []string{
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
	"100.64.0.0/10", "127.0.0.0/8", "192.0.2.0/24",
}

// SetupOptions says what Manifests makes.
type SetupOptions struct {
	// Namespace holds everything; "" is DefaultNamespace.
	Namespace string
	// GatewayImage is the gateway's image; "" is clauderon-gateway:<Version>.
	GatewayImage string
	// Version is the caller's release, for the default GatewayImage ("dev" when "").
	Version string
	// GatewayPullPolicy is the gateway's pull policy; "" is IfNotPresent.
	GatewayPullPolicy corev1.PullPolicy
	// BindUsers are kube users bound to the Role besides the ServiceAccount,
	// for a daemon that runs as the user's own identity.
	BindUsers []string
}

func (o SetupOptions) withDefaults() SetupOptions {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.GatewayImage == "" {
		o.GatewayImage = GatewayName + ":" + o.Version
	}
	if o.GatewayPullPolicy == "" {
		o.GatewayPullPolicy = corev1.PullIfNotPresent
	}
	return o
}

func commonLabels(name string) map[string]string {
	return map[string]string{
		AppLabel:                       name,
		"app.kubernetes.io/part-of":    "clauderon",
		"app.kubernetes.io/managed-by": "clauderon",
	}
}

func objMeta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: commonLabels(name)}
}

// Manifests returns what the cluster needs for clauderon, in the order to
// apply it: the namespace, the daemon's identity and rights, the gateway and
// the NetworkPolicies. Each object carries its TypeMeta, for YAML and Apply.
func Manifests(o SetupOptions) []runtime.Object {
	o = o.withDefaults()
	ns := o.Namespace
	objs := []runtime.Object{
		&corev1.Namespace{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
				"app.kubernetes.io/part-of": "clauderon",
				// Session pods and the gateway are built to pass "restricted"
				// (non-root, no capabilities, no escalation, RuntimeDefault
				// seccomp): admission then refuses any pod in the namespace
				// that is not, whoever creates it.
				"pod-security.kubernetes.io/enforce":         "restricted",
				"pod-security.kubernetes.io/enforce-version": "latest",
			}},
		},
		&corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: objMeta(DaemonServiceAccount, ns),
		},
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: objMeta(RoleName, ns),
			Rules:      RequiredRules(),
		},
		roleBinding(o),
		&corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: objMeta(GatewayName, ns),
			// The gateway needs nothing of the API server.
			AutomountServiceAccountToken: ptr(false),
		},
		gatewayDeployment(o),
		&corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: objMeta(GatewayName, ns),
			Spec: corev1.ServiceSpec{
				Type:     corev1.ServiceTypeClusterIP,
				Selector: map[string]string{AppLabel: GatewayName},
				Ports: []corev1.ServicePort{{
					Name: "proxy", Protocol: corev1.ProtocolTCP,
					Port: GatewayPort, TargetPort: intstr.FromInt32(GatewayPort),
				}},
			},
		},
		sessionsPolicy(ns),
		gatewayPolicy(ns),
	}
	return objs
}

func roleBinding(o SetupOptions) *rbacv1.RoleBinding {
	rb := &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: objMeta(RoleName, o.Namespace),
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: RoleName},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: DaemonServiceAccount, Namespace: o.Namespace}},
	}
	for _, u := range o.BindUsers {
		rb.Subjects = append(rb.Subjects, rbacv1.Subject{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: u})
	}
	return rb
}

// GatewayCommand is the gateway container's command.
var GatewayCommand = []string{"/clauderon", "gateway", "--cluster", "--listen", fmt.Sprintf(":%d", GatewayPort), "--tunnel", GatewayTunnelAddr}

func gatewayDeployment(o SetupOptions) *appsv1.Deployment {
	sel := map[string]string{AppLabel: GatewayName}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: objMeta(GatewayName, o.Namespace),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			// One gateway pod at a time: the daemon's one tunnel reaches one
			// pod, and the Service must not balance pods' connections onto
			// a second pod that has no tunnel during a rollout.
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: commonLabels(GatewayName)},
				Spec: corev1.PodSpec{
					ServiceAccountName:           GatewayName,
					AutomountServiceAccountToken: ptr(false),
					EnableServiceLinks:           ptr(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr(true),
						RunAsUser:      ptr(int64(GatewayUID)),
						RunAsGroup:     ptr(int64(GatewayUID)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            "gateway",
						Image:           o.GatewayImage,
						ImagePullPolicy: o.GatewayPullPolicy,
						Command:         GatewayCommand,
						Ports:           []corev1.ContainerPort{{Name: "proxy", ContainerPort: GatewayPort, Protocol: corev1.ProtocolTCP}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(GatewayPort)}},
							PeriodSeconds: 5,
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr(true),
							AllowPrivilegeEscalation: ptr(false),
							Privileged:               ptr(false),
							ReadOnlyRootFilesystem:   ptr(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
					}},
				},
			},
		},
	}
}

func tcp(port int32) networkingv1.NetworkPolicyPort {
	p := intstr.FromInt32(port)
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: &p}
}

// sessionsPolicy: nothing reaches a session pod, and it reaches only the
// gateway's proxy port (through the Service's ClusterIP, which the policy
// sees as the gateway pod).
func sessionsPolicy(ns string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objMeta(SessionsPolicyName, ns),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{AppLabel: SessionApp}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{},
			Egress: []networkingv1.NetworkPolicyEgressRule{{
				To:    []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{AppLabel: GatewayName}}}},
				Ports: []networkingv1.NetworkPolicyPort{tcp(GatewayPort)},
			}},
		},
	}
}

// gatewayPolicy: only session pods reach the gateway, and the gateway
// reaches the public internet only, plus the cluster's DNS: it resolves the
// hosts of blind tunnels, and cluster DNS (kube-dns, in 10/8 on most
// clusters) would otherwise be refused with the private ranges.
func gatewayPolicy(ns string) *networkingv1.NetworkPolicy {
	dns53 := intstr.FromInt32(53)
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objMeta(GatewayName, ns),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{AppLabel: GatewayName}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{AppLabel: SessionApp}}}},
				Ports: []networkingv1.NetworkPolicyPort{tcp(GatewayPort)},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: GatewayPrivateRanges}}}},
				{
					To: []networkingv1.NetworkPolicyPeer{{
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
						PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
					}},
					Ports: []networkingv1.NetworkPolicyPort{
						{Protocol: ptr(corev1.ProtocolUDP), Port: &dns53},
						{Protocol: ptr(corev1.ProtocolTCP), Port: &dns53},
					},
				},
			},
		},
	}
}

// YAML prints objs as one multi-document YAML stream, for kubectl apply -f.
func YAML(objs []runtime.Object) ([]byte, error) {
	s := json.NewSerializerWithOptions(json.DefaultMetaFactory, kubeclient.Scheme, kubeclient.Scheme, json.SerializerOptions{Yaml: true})
	var buf bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			buf.WriteString("---\n")
		}
		if err := s.Encode(o, &buf); err != nil {
			return nil, fmt.Errorf("backend/kubernetes: yaml: %w", err)
		}
	}
	return buf.Bytes(), nil
}
