package kubernetes

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/clauderon/clauderon/backend/kubernetes/kubeclient"
	"github.com/clauderon/clauderon/internal/k8stest"
)

func findObj[T runtime.Object](t *testing.T, objs []runtime.Object, name string) T {
	t.Helper()
	for _, o := range objs {
		if v, ok := o.(T); ok {
			if m, _ := any(v).(metav1.Object); m != nil && m.GetName() == name {
				return v
			}
		}
	}
	var zero T
	t.Fatalf("no %T %q in the manifests", zero, name)
	return zero
}

func TestRoleIsLeast(t *testing.T) {
	objs := Manifests(SetupOptions{Namespace: "ns1"})
	role := findObj[*rbacv1.Role](t, objs, RoleName)
	if !reflect.DeepEqual(role.Rules, RequiredRules()) {
		t.Errorf("Role rules %v differ from RequiredRules", role.Rules)
	}
	for _, r := range role.Rules {
		for _, res := range r.Resources {
			if strings.Contains(res, "secret") || res == "*" {
				t.Errorf("Role grants %v on %q", r.Verbs, res)
			}
		}
		for _, v := range r.Verbs {
			if v == "*" || v == "escalate" || v == "bind" || v == "impersonate" {
				t.Errorf("Role grants verb %q on %v", v, r.Resources)
			}
		}
		if slices.Contains(r.APIGroups, "*") || len(r.NonResourceURLs) > 0 || len(r.ResourceNames) > 0 {
			t.Errorf("rule %+v: wildcard group or non-resource URL", r)
		}
	}
	for _, o := range objs {
		switch o.(type) {
		case *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, *corev1.Secret:
			t.Errorf("the manifests hold a %T", o)
		}
	}
	rb := findObj[*rbacv1.RoleBinding](t, objs, RoleName)
	if rb.RoleRef.Kind != "Role" || len(rb.Subjects) != 1 || rb.Subjects[0].Name != DaemonServiceAccount || rb.Subjects[0].Namespace != "ns1" {
		t.Errorf("RoleBinding %+v", rb)
	}
}

func TestNetworkPolicies(t *testing.T) {
	objs := Manifests(SetupOptions{Namespace: "ns1"})
	gw := map[string]string{AppLabel: GatewayName}
	sess := map[string]string{AppLabel: SessionApp}
	s := findObj[*networkingv1.NetworkPolicy](t, objs, SessionsPolicyName).Spec
	if !reflect.DeepEqual(s.PodSelector.MatchLabels, sess) || len(s.PolicyTypes) != 2 || len(s.Ingress) != 0 {
		t.Errorf("sessions policy: selector %v, types %v, ingress %v: want sessions, both types, no ingress", s.PodSelector, s.PolicyTypes, s.Ingress)
	}
	if len(s.Egress) != 1 || len(s.Egress[0].To) != 1 || !reflect.DeepEqual(s.Egress[0].To[0].PodSelector.MatchLabels, gw) ||
		s.Egress[0].To[0].NamespaceSelector != nil || s.Egress[0].To[0].IPBlock != nil ||
		len(s.Egress[0].Ports) != 1 || s.Egress[0].Ports[0].Port.IntValue() != 3128 || *s.Egress[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("sessions policy egress %+v: want only the gateway pods on TCP 3128", s.Egress)
	}
	g := findObj[*networkingv1.NetworkPolicy](t, objs, GatewayName).Spec
	if !reflect.DeepEqual(g.PodSelector.MatchLabels, gw) || len(g.PolicyTypes) != 2 {
		t.Errorf("gateway policy selector %v types %v", g.PodSelector, g.PolicyTypes)
	}
	if len(g.Ingress) != 1 || len(g.Ingress[0].From) != 1 || !reflect.DeepEqual(g.Ingress[0].From[0].PodSelector.MatchLabels, sess) ||
		g.Ingress[0].From[0].NamespaceSelector != nil || len(g.Ingress[0].Ports) != 1 || g.Ingress[0].Ports[0].Port.IntValue() != 3128 {
		t.Errorf("gateway policy ingress %+v: want only session pods on TCP 3128", g.Ingress)
	}
	if len(g.Egress) != 2 {
		t.Fatalf("gateway policy egress %+v: want the internet and the cluster's DNS", g.Egress)
	}
	ip := g.Egress[0].To[0].IPBlock
	if ip == nil || ip.CIDR != "0.0.0.0/0" || len(g.Egress[0].Ports) != 0 {
		t.Errorf("gateway egress[0] %+v: want 0.0.0.0/0, any port", g.Egress[0])
	}
	for _, want := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "192.0.2.0/24"} {
		if ip == nil || !slices.Contains(ip.Except, want) {
			t.Errorf("gateway egress does not except %s", want)
		}
	}
	dns := g.Egress[1]
	for _, p := range dns.Ports {
		if p.Port.IntValue() != 53 {
			t.Errorf("gateway DNS egress port %v", p.Port)
		}
	}
	if dns.To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" || dns.To[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "kube-system" {
		t.Errorf("gateway DNS egress %+v: want kube-system's kube-dns only", dns.To)
	}
}

func TestGatewayDeploymentHardened(t *testing.T) {
	objs := Manifests(SetupOptions{Namespace: "ns1", Version: "v1.2.3"})
	d := findObj[*appsv1.Deployment](t, objs, GatewayName)
	ps := d.Spec.Template.Spec
	c := ps.Containers[0]
	if c.Image != "clauderon-gateway:v1.2.3" || !slices.Equal(c.Command, GatewayCommand) {
		t.Errorf("image %q command %q", c.Image, c.Command)
	}
	sc := c.SecurityContext
	if !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault || *ps.SecurityContext.RunAsUser != GatewayUID || *ps.AutomountServiceAccountToken {
		t.Errorf("gateway is not hardened: %+v %+v", sc, ps.SecurityContext)
	}
	if c.ReadinessProbe.TCPSocket.Port.IntValue() != 3128 || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("probe %+v limits %v", c.ReadinessProbe, c.Resources.Limits)
	}
	sa := findObj[*corev1.ServiceAccount](t, objs, GatewayName)
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("gateway ServiceAccount mounts its token")
	}
	svc := findObj[*corev1.Service](t, objs, GatewayName)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || svc.Spec.Ports[0].Port != 3128 || svc.Spec.Selector[AppLabel] != GatewayName {
		t.Errorf("service %+v", svc.Spec)
	}
	if got := findObj[*appsv1.Deployment](t, Manifests(SetupOptions{GatewayImage: "reg/gw@sha256:ab"}), GatewayName).Spec.Template.Spec.Containers[0].Image; got != "reg/gw@sha256:ab" {
		t.Errorf("GatewayImage option: image %q", got)
	}
	ns := findObj[*corev1.Namespace](t, objs, "ns1")
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace labels %v", ns.Labels)
	}
}

func TestYAMLParsesBack(t *testing.T) {
	objs := Manifests(SetupOptions{Namespace: "ns1", BindUsers: []string{"alice"}})
	y, err := YAML(objs)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(y)))
	dec := kubeclient.Codecs.UniversalDeserializer()
	var back []runtime.Object
	var i int
	for ; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, doc)
		}
		if i >= len(objs) {
			t.Fatalf("more documents than objects")
		}
		if got.GetObjectKind().GroupVersionKind() != objs[i].GetObjectKind().GroupVersionKind() {
			t.Errorf("document %d is a %v, want %v", i, got.GetObjectKind().GroupVersionKind(), objs[i].GetObjectKind().GroupVersionKind())
		}
		back = append(back, got)
	}
	// Quantities cache their text, so compare what the objects print as.
	if y2, err := YAML(back); err != nil || !bytes.Equal(y2, y) {
		t.Errorf("the YAML does not survive a round trip (%v):\n%s\nthen\n%s", err, y, y2)
	}
	if i != len(objs) {
		t.Errorf("%d documents, want %d", i, len(objs))
	}
	if bytes.Contains(y, []byte("Secret")) {
		t.Errorf("the YAML names a Secret")
	}
}

// setupNamespace applies the manifests into a fresh namespace with the
// admin kubeconfig and returns a Backend on it (as admin) and the image.
func setupNamespace(t *testing.T, opt SetupOptions) (*Backend, string, SetupOptions) {
	t.Helper()
	kc := k8stest.Need(t, "CLAUDERON_TEST_KUBECONFIG")[0]
	image := os.Getenv("CLAUDERON_TEST_K8S_IMAGE")
	if image == "" {
		t.Fatal("CLAUDERON_TEST_K8S_IMAGE is not set: name an image loaded on the cluster's node (scripts/k8s/load-image.sh clauderon-test:TAG)")
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	opt.Namespace = "clauderon-setup-" + hex.EncodeToString(rnd[:])
	if opt.GatewayImage == "" {
		opt.GatewayImage = image
	}
	opt.GatewayPullPolicy = corev1.PullNever
	b, err := New(Config{Kubeconfig: kc, Namespace: opt.Namespace, ImagePullPolicy: corev1.PullNever})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := b.cs.CoreV1().Namespaces().Delete(context.Background(), opt.Namespace, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
		if err != nil {
			t.Errorf("delete namespace %s: %v", opt.Namespace, err)
		}
	})
	return b, image, opt
}

func TestApplyIdempotent(t *testing.T) {
	b, _, opt := setupNamespace(t, SetupOptions{})
	ctx := ctxFor(t, 60*time.Second)
	objs := Manifests(opt)
	var first, second []string
	if err := b.Apply(ctx, objs, func(l string) { first = append(first, l) }); err != nil {
		t.Fatal(err)
	}
	if err := b.Apply(ctx, Manifests(opt), func(l string) { second = append(second, l) }); err != nil {
		t.Fatal(err)
	}
	if len(first) != len(objs) || len(second) != len(objs) {
		t.Fatalf("progress %q then %q: want a line per object", first, second)
	}
	for i := range objs {
		if !strings.HasPrefix(first[i], "created ") {
			t.Errorf("first apply: %q", first[i])
		}
		if !strings.HasPrefix(second[i], "unchanged ") {
			t.Errorf("second apply: %q", second[i])
		}
	}
	// A changed option updates the one object it changes.
	opt2 := opt
	opt2.BindUsers = []string{"alice"}
	var third []string
	if err := b.Apply(ctx, Manifests(opt2), func(l string) { third = append(third, l) }); err != nil {
		t.Fatal(err)
	}
	for _, l := range third {
		if strings.Contains(l, "RoleBinding") != strings.HasPrefix(l, "updated ") {
			t.Errorf("third apply (a user bound): %q", l)
		}
	}

	cs := b.cs
	ns := opt.Namespace
	gotNS, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil || gotNS.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %v: %v", gotNS.Labels, err)
	}
	role, err := cs.RbacV1().Roles(ns).Get(ctx, RoleName, metav1.GetOptions{})
	if err != nil || !reflect.DeepEqual(role.Rules, RequiredRules()) {
		t.Errorf("role %v: %v", role.Rules, err)
	}
	rb, err := cs.RbacV1().RoleBindings(ns).Get(ctx, RoleName, metav1.GetOptions{})
	if err != nil || len(rb.Subjects) != 2 {
		t.Errorf("rolebinding %v: %v", rb.Subjects, err)
	}
	gsa, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, GatewayName, metav1.GetOptions{})
	if err != nil || gsa.AutomountServiceAccountToken == nil || *gsa.AutomountServiceAccountToken {
		t.Errorf("gateway serviceaccount %+v: %v", gsa, err)
	}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, DaemonServiceAccount, metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, GatewayName, metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != opt.GatewayImage || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("deployment: %v", err)
	}
	svc, err := cs.CoreV1().Services(ns).Get(ctx, GatewayName, metav1.GetOptions{})
	if err != nil || svc.Spec.ClusterIP == "" || svc.Spec.Ports[0].Port != 3128 {
		t.Errorf("service %+v: %v", svc.Spec, err)
	}
	for _, n := range []string{SessionsPolicyName, GatewayName} {
		if _, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, n, metav1.GetOptions{}); err != nil {
			t.Error(err)
		}
	}
	st, err := b.GatewayStatus(ctx)
	if err != nil || !st.DeploymentFound || !st.ServiceFound || st.ClusterIP != svc.Spec.ClusterIP {
		t.Errorf("GatewayStatus %+v: %v", st, err)
	}
}
