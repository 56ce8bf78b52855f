package kubernetes

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// withoutKinds drops the objects of kinds from objs (a test that needs no gateway pod).
func withoutKinds(objs []runtime.Object, kinds ...string) []runtime.Object {
	var out []runtime.Object
	for _, o := range objs {
		if !slices.Contains(kinds, o.GetObjectKind().GroupVersionKind().Kind) {
			out = append(out, o)
		}
	}
	return out
}

// asServiceAccount returns a Backend on admin's cluster and namespace that
// authenticates as the ServiceAccount sa, by a TokenRequest's token.
func asServiceAccount(t *testing.T, ctx context.Context, admin *Backend, sa string) *Backend {
	t.Helper()
	full, err := kubernetes.NewForConfig(admin.cfg) // the backend's own client asks for no tokens
	if err != nil {
		t.Fatal(err)
	}
	tr, err := full.CoreV1().ServiceAccounts(admin.ns).CreateToken(ctx, sa,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s: %v", sa, err)
	}
	rc := rest.AnonymousClientConfig(admin.cfg) // keeps the server and its CA, drops the admin's certificate
	rc.BearerToken = tr.Status.Token
	b, err := newForRest(rc, Config{Namespace: admin.ns, ImagePullPolicy: corev1.PullNever})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func missing(checks []AccessCheck) []string {
	var out []string
	for _, c := range checks {
		if !c.Allowed {
			out = append(out, c.String())
		}
	}
	return out
}

// TestRBACSufficientAndLeast runs the backend's real operations as the
// setup's ServiceAccount, and checks what it must not be able to do.
func TestRBACSufficientAndLeast(t *testing.T) {
	admin, image, opt := setupNamespace(t, SetupOptions{})
	ctx := ctxFor(t, 120*time.Second)
	if err := admin.Apply(ctx, withoutKinds(Manifests(opt), "Deployment"), nil); err != nil {
		t.Fatal(err)
	}
	sa := asServiceAccount(t, ctx, admin, DaemonServiceAccount)

	checks, err := sa.CheckAccess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m := missing(checks); len(m) > 0 || len(checks) < 20 {
		t.Errorf("CheckAccess as the ServiceAccount: %d checks, missing %q", len(checks), m)
	}

	// Sufficient: a session's life, as the ServiceAccount. The namespace
	// enforces "restricted", so this also proves the pod passes it.
	spec := testSpec("rbac-sess", image, "bash", "-c", "echo ready; exec sleep 300")
	spec.Labels[AppLabel] = SessionApp
	id, err := sa.Create(ctx, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := sa.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if c, err := sa.Inspect(ctx, id); err != nil || c.Status != "running" {
		t.Fatalf("Inspect: %+v, %v", c, err)
	}
	if l, err := sa.List(ctx, map[string]string{"dev.clauderon.session": "rbac-sess"}); err != nil || len(l) != 1 {
		t.Fatalf("List: %v, %v", l, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rc, err := sa.Logs(ctx, id, false)
		if err != nil {
			t.Fatalf("Logs: %v", err)
		}
		out, _ := io.ReadAll(rc)
		rc.Close()
		if strings.Contains(string(out), "ready") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Logs: %q, want ready", out)
		}
	}
	var stdout bytes.Buffer
	if code, err := sa.Exec(ctx, id, "", []string{"echo", "exec works"}, nil, &stdout, nil); err != nil || code != 0 || !strings.Contains(stdout.String(), "exec works") {
		t.Errorf("Exec: %d %q %v", code, stdout.String(), err)
	}
	st, err := sa.Attach(ctx, id)
	if err != nil {
		t.Errorf("Attach: %v", err)
	} else {
		st.Close()
	}
	if err := sa.Stop(ctx, id, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := sa.Remove(ctx, id, false); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	cms := sa.cs.CoreV1().ConfigMaps(opt.Namespace)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "sess-files"}, Data: map[string]string{"a": "b"}}, metav1.CreateOptions{}); err != nil {
		t.Errorf("create configmap: %v", err)
	}
	if err := cms.Delete(ctx, "sess-files", metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete configmap: %v", err)
	}
	pvcs := sa.cs.CoreV1().PersistentVolumeClaims(opt.Namespace)
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "ws"}, Spec: corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Mi")}},
	}}
	if _, err := pvcs.Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		t.Errorf("create pvc: %v", err)
	}
	if err := pvcs.Delete(ctx, "ws", metav1.DeleteOptions{}); err != nil {
		t.Errorf("delete pvc: %v", err)
	}
	if _, err := sa.GatewayStatus(ctx); err != nil {
		t.Errorf("GatewayStatus: %v", err)
	}

	// Least: each of these is refused.
	refused := map[string]error{}
	_, refused["list secrets"] = sa.cs.CoreV1().Secrets(opt.Namespace).List(ctx, metav1.ListOptions{})
	_, refused["get secrets"] = sa.cs.CoreV1().Secrets(opt.Namespace).Get(ctx, "anything", metav1.GetOptions{})
	_, refused["create secrets"] = sa.cs.CoreV1().Secrets(opt.Namespace).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	other, _ := admin.podFor(testSpec("elsewhere", image, "true"))
	other.Namespace = "default"
	_, refused["create pods in default"] = sa.cs.CoreV1().Pods("default").Create(ctx, other, metav1.CreateOptions{})
	_, refused["list nodes"] = sa.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	_, refused["create clusterroles"] = sa.cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "clauderon-escalate-" + opt.Namespace}}, metav1.CreateOptions{})
	_, refused["update its own role"] = sa.cs.RbacV1().Roles(opt.Namespace).Update(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: RoleName}}, metav1.UpdateOptions{})
	refused["delete the namespace"] = sa.cs.CoreV1().Namespaces().Delete(ctx, opt.Namespace, metav1.DeleteOptions{})
	for what, err := range refused {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s as the ServiceAccount: %v, want forbidden", what, err)
		}
	}
}

// TestCheckAccessNamesTheMissingRight binds a Role that lacks pods/exec and
// expects CheckAccess to name exactly that.
func TestCheckAccessNamesTheMissingRight(t *testing.T) {
	admin, _, opt := setupNamespace(t, SetupOptions{})
	ctx := ctxFor(t, 60*time.Second)
	if err := admin.Apply(ctx, withoutKinds(Manifests(opt), "Deployment"), nil); err != nil {
		t.Fatal(err)
	}
	var rules []rbacv1.PolicyRule
	for _, r := range RequiredRules() {
		r.Resources = slices.DeleteFunc(slices.Clone(r.Resources), func(s string) bool { return s == "pods/exec" })
		rules = append(rules, r)
	}
	ns := opt.Namespace
	if _, err := admin.cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "partial"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "partial"}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "partial"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "partial"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "partial", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	checks, err := asServiceAccount(t, ctx, admin, "partial").CheckAccess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := missing(checks), []string{"create pods/exec", "get pods/exec"}; !slices.Equal(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}
}
