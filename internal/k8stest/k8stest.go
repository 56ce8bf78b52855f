// Package k8stest is what tests on the Kubernetes test cluster
// (scripts/k8s-up.sh) share: its kubeconfig, the gateway's image built
// and loaded once, and a stand-in for a storage provisioner, which the
// test cluster does not run.
package k8stest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// Kubeconfig is the test cluster's admin kubeconfig; the test is skipped
// when none is set (make test sets it), or fails under CLAUDERON_REQUIRE_E2E.
func Kubeconfig(t testing.TB) string {
	t.Helper()
	kc := os.Getenv("CLAUDERON_TEST_KUBECONFIG")
	if kc == "" {
		if os.Getenv("CLAUDERON_REQUIRE_K8S") != "" {
			t.Fatal("CLAUDERON_TEST_KUBECONFIG is not set (scripts/k8s-up.sh prints it; make test sets it)")
		}
		t.Skip("CLAUDERON_TEST_KUBECONFIG is not set: the Kubernetes tests need the test cluster (sudo scripts/k8s-up.sh)")
	}
	return kc
}

// Image is the session test image loaded on the cluster's node.
func Image(t testing.TB) string {
	t.Helper()
	img := os.Getenv("CLAUDERON_TEST_K8S_IMAGE")
	if img == "" {
		t.Fatal("CLAUDERON_TEST_K8S_IMAGE is not set: name an image loaded on the cluster's node (make test sets it)")
	}
	return img
}

// root is the repository's root.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

var gatewayImage = sync.OnceValues(func() (string, error) {
	if img := os.Getenv("CLAUDERON_TEST_K8S_GATEWAY_IMAGE"); img != "" {
		return img, nil
	}
	dir, err := os.MkdirTemp("", "clauderon-gateway-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "clauderon")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/clauderon-pod")
	build.Dir = root()
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the static clauderon: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	tag := "clauderon-gateway:test-" + hex.EncodeToString(sum[:6])
	if exec.Command("docker", "image", "inspect", tag).Run() != nil {
		df := "FROM scratch\nCOPY clauderon /clauderon\nUSER 65532:65532\nENTRYPOINT [\"/clauderon\"]\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
			return "", err
		}
		if out, err := exec.Command("docker", "build", "-q", "-t", tag, dir).CombinedOutput(); err != nil {
			return "", fmt.Errorf("docker build %s: %v\n%s", tag, err, out)
		}
	}
	if err := Load(tag); err != nil {
		return "", err
	}
	return tag, nil
})

// GatewayImage builds the gateway's image (a scratch image holding the
// static clauderon binary at /clauderon) from this tree, once per process,
// and loads it on the cluster's node.
func GatewayImage(t testing.TB) string {
	t.Helper()
	img, err := gatewayImage()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Load imports a local Docker image into the test cluster's containerd,
// unless it has it.
func Load(ref string) error {
	sock := filepath.Join(clusterDir(), "containerd", "containerd.sock")
	ls, err := exec.Command("ctr", "--address", sock, "-n", "k8s.io", "images", "ls", "-q").Output()
	if err != nil {
		return fmt.Errorf("listing the cluster's images: %v", err)
	}
	want := ref
	if !strings.Contains(strings.SplitN(ref, ":", 2)[0], "/") {
		want = "docker.io/library/" + ref
	}
	for _, l := range strings.Split(string(ls), "\n") {
		if l == want {
			return nil
		}
	}
	load := exec.Command(filepath.Join(root(), "scripts", "k8s", "load-image.sh"), ref)
	if out, err := load.CombinedOutput(); err != nil {
		return fmt.Errorf("loading %s: %v\n%s", ref, err, out)
	}
	return nil
}

func clusterDir() string {
	if d := os.Getenv("CLAUDERON_K8S_DIR"); d != "" {
		return d
	}
	return "/tmp/clauderon-k8s"
}

// Provision stands in for a storage provisioner in namespace ns until ctx
// ends: each claim gets a hostPath volume of its own under the cluster's
// directory, bound to it, writable by the sessions' user.
func Provision(ctx context.Context, t testing.TB, cs kubernetes.Interface, ns string) {
	t.Helper()
	dir := filepath.Join(clusterDir(), "pv", ns)
	made := map[string]bool{}
	var mu sync.Mutex
	scan := func() {
		l, err := cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for _, c := range l.Items {
			mu.Lock()
			done := made[c.Name]
			mu.Unlock()
			if done || c.Spec.VolumeName != "" {
				continue
			}
			path := filepath.Join(dir, c.Name)
			os.RemoveAll(path)
			if err := os.MkdirAll(path, 0o777); err != nil {
				t.Errorf("provision %s: %v", c.Name, err)
				continue
			}
			os.Chmod(path, 0o777)
			pv := &corev1.PersistentVolume{
				ObjectMeta: metav1.ObjectMeta{Name: "pv-" + ns + "-" + c.Name, Labels: map[string]string{"clauderon-test-ns": ns}},
				Spec: corev1.PersistentVolumeSpec{
					Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
					AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
					StorageClassName:              ptrOr(c.Spec.StorageClassName),
					ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: c.Name, UID: c.UID},
					PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}},
				},
			}
			if _, err := cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				if ctx.Err() == nil {
					t.Errorf("provision %s: %v", c.Name, err)
				}
				continue
			}
			mu.Lock()
			made[c.Name] = true
			mu.Unlock()
		}
	}
	go func() {
		for ctx.Err() == nil {
			w, err := cs.CoreV1().PersistentVolumeClaims(ns).Watch(ctx, metav1.ListOptions{})
			if err != nil {
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			scan() // those made before the watch
			for ev := range w.ResultChan() {
				if ev.Type == watch.Added {
					scan()
				}
			}
			w.Stop()
		}
	}()
	t.Cleanup(func() {
		bg := context.Background()
		cs.CoreV1().PersistentVolumes().DeleteCollection(bg, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "clauderon-test-ns=" + ns})
		os.RemoveAll(dir)
	})
}

func ptrOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Need returns the environment variables names, and skips the test when one
// is unset (or fails it under CLAUDERON_REQUIRE_K8S, which make test sets).
func Need(t testing.TB, names ...string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		v := os.Getenv(n)
		if v == "" {
			if os.Getenv("CLAUDERON_REQUIRE_K8S") != "" {
				t.Fatalf("%s is not set (make test sets it; scripts/k8s-up.sh and scripts/k8s/gateway-image.sh print the values)", n)
			}
			t.Skipf("%s is not set: this test needs the Kubernetes test cluster (sudo scripts/k8s-up.sh)", n)
		}
		out = append(out, v)
	}
	return out
}
