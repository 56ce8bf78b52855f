package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/clauderon/clauderon/internal/k8stest"
)

func runK8s(t *testing.T, defaults func() K8sSetup, args ...string) (string, string, error) {
	t.Helper()
	cmd := newK8sCmd(defaults)
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// kinds decodes a YAML stream and returns each document's kind/name.
func kinds(t *testing.T, y string) []string {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(y)))
	var out []string
	for {
		doc, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		_, gvk, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		out = append(out, gvk.Kind)
	}
}

func TestK8sSetupPrints(t *testing.T) {
	out, errOut, err := runK8s(t, nil, "setup", "--namespace", "team-a", "--gateway-image", "reg.example/gw:1")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(kinds(t, out), ",")
	if want := "Namespace,ServiceAccount,Role,RoleBinding,ServiceAccount,Deployment,Service,NetworkPolicy,NetworkPolicy"; got != want {
		t.Errorf("kinds %s, want %s", got, want)
	}
	for _, s := range []string{"namespace: team-a", "image: reg.example/gw:1", "pod-security.kubernetes.io/enforce: restricted"} {
		if !strings.Contains(out, s) {
			t.Errorf("the YAML lacks %q", s)
		}
	}
	if strings.Contains(out, "apply it") || !strings.Contains(errOut, "--apply") {
		t.Errorf("the hint is not on stderr alone: stderr %q", errOut)
	}
}

func TestK8sSetupDefaults(t *testing.T) {
	def := func() K8sSetup { return K8sSetup{Namespace: "from-config", GatewayImage: "cfg/gw:2"} }
	out, _, err := runK8s(t, def, "setup")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "namespace: from-config") || !strings.Contains(out, "image: cfg/gw:2") {
		t.Errorf("config defaults not used:\n%s", out)
	}
	out, _, err = runK8s(t, def, "setup", "--namespace", "from-flag")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "namespace: from-flag") || strings.Contains(out, "from-config") || !strings.Contains(out, "image: cfg/gw:2") {
		t.Errorf("a flag does not win over the config:\n%s", out)
	}
}

const unreachableKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:1"}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: here
  context: {cluster: c, user: u}
current-context: here
`

func TestK8sSetupErrors(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte(unreachableKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runK8s(t, nil, "setup", "--apply", "--kubeconfig", kc, "--context", "elsewhere")
	if err == nil || !strings.Contains(err.Error(), `no context "elsewhere"`) || !strings.Contains(err.Error(), "get-contexts") {
		t.Errorf("missing context: %v", err)
	}
	_, _, err = runK8s(t, nil, "setup", "--apply", "--kubeconfig", kc)
	if err == nil || !strings.Contains(err.Error(), "cannot reach") || !strings.Contains(err.Error(), "is the cluster up") {
		t.Errorf("unreachable: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not the in-cluster config either
	_, _, err = runK8s(t, nil, "setup", "--apply", "--kubeconfig", empty)
	if err == nil || !strings.Contains(err.Error(), "no kubeconfig found") {
		t.Errorf("empty kubeconfig: %v", err)
	}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "namespaces"}, "clauderon", errors.New("no"))
	if err := k8sSetupError(forbidden, K8sSetup{}); !strings.Contains(err.Error(), "cluster admin") || !apierrors.IsForbidden(err) {
		t.Errorf("forbidden: %v", err)
	}
}

// TestK8sSetupApply runs setup --apply twice against the test cluster, with
// the gateway image scripts/k8s/gateway-image.sh built and loaded.
func TestK8sSetupApply(t *testing.T) {
	env := k8stest.Need(t, "CLAUDERON_TEST_KUBECONFIG", "CLAUDERON_TEST_K8S_GATEWAY_IMAGE")
	kc, img := env[0], env[1]
	ns := "clauderon-cli-" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-")[len("test"):]
	ns = ns + "-" + time.Now().Format("150405")
	t.Cleanup(func() { deleteNamespace(t, kc, ns) })
	out, errOut, err := runK8s(t, nil, "setup", "--apply", "--kubeconfig", kc, "--namespace", ns, "--gateway-image", img, "--wait", "90s")
	if err != nil {
		t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, out, errOut)
	}
	if n := strings.Count(out, "created "); n != 9 {
		t.Errorf("first apply: %d created, want 9:\n%s", n, out)
	}
	if !strings.Contains(errOut, "the gateway is available at ") {
		t.Errorf("stderr:\n%s", errOut)
	}
	out, _, err = runK8s(t, nil, "setup", "--apply", "--kubeconfig", kc, "--namespace", ns, "--gateway-image", img)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "unchanged "); n != 9 {
		t.Errorf("second apply: %d unchanged, want 9:\n%s", n, out)
	}
}

func deleteNamespace(t *testing.T, kc, ns string) {
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Error(err)
		return
	}
	cs, err := kclient.NewForConfig(rc)
	if err != nil {
		t.Error(err)
		return
	}
	zero := int64(0)
	if err := cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Errorf("delete namespace %s: %v", ns, err)
	}
}

// TestK8sSetupForbidden runs setup --apply as an identity with no rights
// (a fresh ServiceAccount's token) and expects the forbidden explanation.
func TestK8sSetupForbidden(t *testing.T) {
	kc := k8stest.Need(t, "CLAUDERON_TEST_KUBECONFIG")[0]
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kclient.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := "clauderon-cli-forbidden-" + time.Now().Format("150405")
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deleteNamespace(t, kc, ns) })
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "nobody"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	exp := int64(600)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "nobody", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData, CertificateAuthority: rc.CAFile}
	cfg.AuthInfos["nobody"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["nobody"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "nobody"}
	cfg.CurrentContext = "nobody"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	_, _, err = runK8s(t, nil, "setup", "--apply", "--kubeconfig", path, "--namespace", ns+"-x")
	if err == nil || !strings.Contains(err.Error(), "forbidden") || !strings.Contains(err.Error(), "cluster admin") {
		t.Errorf("setup --apply without rights: %v, want the forbidden explanation", err)
	}
}
