package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clauderon/clauderon/backend/kubernetes"
	"github.com/clauderon/clauderon/internal/k8stest"
)

// TestK8sChecksCluster runs doctor's Kubernetes rows against the test
// cluster: before setup the gateway row fails with its fix, after setup
// (with the real gateway image) every row passes.
func TestK8sChecksCluster(t *testing.T) {
	env := k8stest.Need(t, "CLAUDERON_TEST_KUBECONFIG", "CLAUDERON_TEST_K8S_GATEWAY_IMAGE")
	kc, gwImage := env[0], env[1]
	var rnd [4]byte
	rand.Read(rnd[:])
	ns := "clauderon-doctor-" + hex.EncodeToString(rnd[:])
	b, err := kubernetes.New(kubernetes.Config{Kubeconfig: kc, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		rc, err := clientcmd.BuildConfigFromFlags("", kc)
		if err == nil {
			var cs *kclient.Clientset
			if cs, err = kclient.NewForConfig(rc); err == nil {
				zero := int64(0)
				err = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			}
		}
		if err != nil {
			t.Errorf("delete namespace %s: %v", ns, err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	up := K8sTunnelStateFunc(func() (bool, time.Time, string) { return true, time.Now(), "" })

	before := K8sChecks(ctx, b, up, nil, time.Now())
	if gw := before[2]; gw.Name != "k8s-gateway" || gw.OK || gw.Fix == "" {
		t.Errorf("before setup: %+v, want the gateway row failing with a fix", gw)
	}
	objs := kubernetes.Manifests(kubernetes.SetupOptions{Namespace: ns, GatewayImage: gwImage, GatewayPullPolicy: corev1.PullNever})
	if err := b.Apply(ctx, objs, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitGateway(ctx, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range K8sChecks(ctx, b, up, func(context.Context) error { return nil }, time.Now()) {
		if !c.OK {
			t.Errorf("after setup: %+v", c)
		}
	}
}
