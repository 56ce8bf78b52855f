package kubernetes

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clauderon/clauderon/internal/k8stest"
)

// TestProbeSeesNoPolicy: in a namespace whose sessions' NetworkPolicy is
// missing (or a cluster that does not enforce it), doctor's probe pod
// reaches the API server directly and says so, instead of passing.
func TestProbeSeesNoPolicy(t *testing.T) {
	b, _ := testBackend(t)
	b.tools = k8stest.GatewayImage(t)
	ctx := ctxFor(t, 120*time.Second)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: GatewayName, Namespace: b.ns},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: GatewayPort}}, Selector: map[string]string{AppLabel: GatewayName}},
	}
	if _, err := b.cs.CoreV1().Services(b.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err := b.ProbeGateway(ctx)
	if err == nil || !strings.Contains(err.Error(), "does not enforce") {
		t.Fatalf("probe without a NetworkPolicy: %v", err)
	}
}
