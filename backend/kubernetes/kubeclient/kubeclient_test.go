package kubeclient

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// call is one request the stand-in API server saw.
type call struct {
	method, path, query, contentType, body string
}

// recorder answers every request with obj (as JSON, with its kind) and
// records it.
type recorder struct {
	mu    sync.Mutex
	calls []call
	reply func(r *http.Request) (int, any)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.calls = append(rec.calls, call{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), string(b)})
	rec.mu.Unlock()
	code, obj := rec.reply(r)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(obj)
}

func (rec *recorder) last(t *testing.T) call {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) == 0 {
		t.Fatal("no request")
	}
	return rec.calls[len(rec.calls)-1]
}

func typed(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// TestPaths: each resource is asked for at its group's path, namespaced or
// cluster-wide, with the verb, options and body the API server expects.
func TestPaths(t *testing.T) {
	rec := &recorder{reply: func(r *http.Request) (int, any) {
		switch {
		case strings.Contains(r.URL.Path, "/deployments"):
			return 200, &appsv1.Deployment{TypeMeta: typed("apps/v1", "Deployment"), ObjectMeta: metav1.ObjectMeta{Name: "gw"}}
		case strings.Contains(r.URL.Path, "/selfsubjectaccessreviews"):
			return 201, &authorizationv1.SelfSubjectAccessReview{TypeMeta: typed("authorization.k8s.io/v1", "SelfSubjectAccessReview"), Status: authorizationv1.SubjectAccessReviewStatus{Allowed: true}}
		case strings.HasSuffix(r.URL.Path, "/pods") && r.Method == "GET":
			return 200, &corev1.PodList{TypeMeta: typed("v1", "PodList"), ListMeta: metav1.ListMeta{ResourceVersion: "7"}, Items: []corev1.Pod{{ObjectMeta: metav1.ObjectMeta{Name: "a"}}}}
		case strings.Contains(r.URL.Path, "/namespaces/missing"):
			return 404, &metav1.Status{TypeMeta: typed("v1", "Status"), Status: metav1.StatusFailure, Code: 404, Reason: metav1.StatusReasonNotFound, Message: `namespaces "missing" not found`}
		case strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/ns/pods/"):
			return 200, &corev1.Pod{TypeMeta: typed("v1", "Pod"), ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u1"}}
		}
		return 200, &metav1.Status{TypeMeta: typed("v1", "Status"), Status: metav1.StatusSuccess}
	}}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	c, err := New(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pods := c.CoreV1().Pods("ns")

	p, err := pods.Get(ctx, "p", metav1.GetOptions{})
	if err != nil || p.UID != "u1" {
		t.Fatalf("get pod: %+v, %v", p, err)
	}
	if got := rec.last(t); got.method != "GET" || got.path != "/api/v1/namespaces/ns/pods/p" {
		t.Errorf("get pod asked %+v", got)
	}

	l, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "a=b"})
	if err != nil || l.ResourceVersion != "7" || len(l.Items) != 1 || l.Items[0].Name != "a" {
		t.Fatalf("list pods: %+v, %v", l, err)
	}
	if got := rec.last(t); got.path != "/api/v1/namespaces/ns/pods" || got.query != "labelSelector=a%3Db" {
		t.Errorf("list pods asked %+v", got)
	}

	if _, err := pods.Patch(ctx, "p", types.MergePatchType, []byte(`{"spec":{}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t); got.method != "PATCH" || got.contentType != string(types.MergePatchType) || got.body != `{"spec":{}}` {
		t.Errorf("patch asked %+v", got)
	}

	uid := types.UID("u1")
	if err := pods.Delete(ctx, "p", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t); got.method != "DELETE" || got.path != "/api/v1/namespaces/ns/pods/p" || !strings.Contains(got.body, `"uid":"u1"`) {
		t.Errorf("delete asked %+v", got)
	}

	if got := pods.GetLogs("p", &corev1.PodLogOptions{Container: "c", Follow: true}).URL(); got.Path != "/api/v1/namespaces/ns/pods/p/log" || got.RawQuery != "container=c&follow=true" {
		t.Errorf("logs URL %v", got)
	}

	if _, err := c.AppsV1().Deployments("ns").Get(ctx, "gw", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t); got.path != "/apis/apps/v1/namespaces/ns/deployments/gw" {
		t.Errorf("deployment asked %+v", got)
	}

	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "np"}}
	if _, err := c.NetworkingV1().NetworkPolicies("ns").Create(ctx, np, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t); got.method != "POST" || got.path != "/apis/networking.k8s.io/v1/namespaces/ns/networkpolicies" ||
		!strings.Contains(got.body, `"kind":"NetworkPolicy"`) || !strings.Contains(got.body, `"apiVersion":"networking.k8s.io/v1"`) {
		t.Errorf("create networkpolicy asked %+v", got)
	}

	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r"}}
	if _, err := c.RbacV1().Roles("ns").Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t); got.method != "PUT" || got.path != "/apis/rbac.authorization.k8s.io/v1/namespaces/ns/roles/r" {
		t.Errorf("update role asked %+v", got)
	}

	rev, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{}, metav1.CreateOptions{})
	if err != nil || !rev.Status.Allowed {
		t.Fatalf("review: %+v, %v", rev, err)
	}
	if got := rec.last(t); got.path != "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" {
		t.Errorf("review asked %+v", got)
	}

	// Cluster-wide resources have no namespace in their path, and the
	// server's Status comes back as an API error callers can test.
	_, err = c.CoreV1().Namespaces().Get(ctx, "missing", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("missing namespace: %v", err)
	}
	if got := rec.last(t); got.path != "/api/v1/namespaces/missing" {
		t.Errorf("namespace asked %+v", got)
	}
}

// TestDefaults: a config with no rate limit gets clauderon's, not
// client-go's 5 per second, and a caller's own is kept.
func TestDefaults(t *testing.T) {
	c, err := New(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.core.GetRateLimiter().QPS(); got != DefaultQPS {
		t.Errorf("QPS %v, want %v", got, float32(DefaultQPS))
	}
	if c.core.GetRateLimiter() != c.apps.GetRateLimiter() {
		t.Error("groups have rate limiters of their own, not one shared")
	}
	c, err = New(&rest.Config{Host: "https://127.0.0.1:1", QPS: 3, Burst: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.core.GetRateLimiter().QPS(); got != 3 {
		t.Errorf("QPS %v, want the config's 3", got)
	}
	if _, err := New(&rest.Config{Host: "https://127.0.0.1:1", QPS: 3}); err == nil || !strings.Contains(err.Error(), "burst") {
		t.Errorf("a QPS with no burst, which would refuse every request: %v", err)
	}
}

// TestDaemonLinksNoClientset keeps the reason for this package: the
// clauderon binary must not link client-go's generated clientset or its
// scheme of every API group, which cost every daemon about 10 MB.
func TestDaemonLinksNoClientset(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/clauderon/clauderon").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "k8s.io/client-go/kubernetes" || strings.HasPrefix(p, "k8s.io/client-go/kubernetes/") || strings.HasPrefix(p, "k8s.io/client-go/applyconfigurations") {
			t.Errorf("the clauderon binary links %s", p)
		}
	}
	if !strings.Contains(string(out), "github.com/clauderon/clauderon/backend/kubernetes/kubeclient") {
		t.Error("go list does not show the binary's packages")
	}
}
