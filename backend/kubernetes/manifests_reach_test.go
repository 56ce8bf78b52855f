package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clauderon/clauderon/backend"
)

// listenerPerl accepts and closes connections on the port in its argument:
// the test image has perl, but no nc, socat or python.
const listenerPerl = `$s = IO::Socket::INET->new(LocalPort => $ARGV[0], Listen => 64, ReuseAddr => 1) or die "listen: $!"; print "listening\n"; while ($c = $s->accept) { close $c }`

// reachPod creates and starts a pod of image, labelled app (none when ""),
// listening on port (none when 0), and returns its IP.
func reachPod(t *testing.T, ctx context.Context, b *Backend, name, image, app string, port int) string {
	t.Helper()
	spec := testSpec(name, image)
	spec.Cmd = nil
	// A limit alone is also the request, and the node has 2 CPUs shared with other tests.
	spec.Limits = backend.Limits{MemoryBytes: 64 << 20, NanoCPUs: 50_000_000}
	spec.Entrypoint = []string{"sleep", "600"}
	if port != 0 {
		spec.Entrypoint = []string{"perl", "-MIO::Socket::INET", "-e", listenerPerl, strconv.Itoa(port)}
	}
	// Session pods get their label from podFor; the others are made here.
	pod, err := b.podFor(spec)
	if err != nil {
		t.Fatal(err)
	}
	delete(pod.Labels, AppLabel)
	if app != "" {
		pod.Labels[AppLabel] = app
	}
	pod.Spec.SchedulingGates = nil
	if pod, err = b.cs.CoreV1().Pods(b.ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = b.waitPod(ctx, pod, func(p *corev1.Pod) (bool, error) {
		pod = p
		if st := statusOf(p).Status; st != "created" && st != "running" {
			return true, fmt.Errorf("pod %s is %s", name, st)
		}
		return p.Status.PodIP != "" && statusOf(p).Status == "running", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pod.Status.PodIP
}

// connects says whether pod from opens a TCP connection to addr within 3 s.
// The probe runs in the pod (bash's /dev/tcp), nothing on the host.
func connects(ctx context.Context, b *Backend, from, addr string) (bool, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	code, err := b.Exec(ctx, from, "", []string{"timeout", "3", "bash", "-c", `exec 3<>"/dev/tcp/$0/$1"`, host, port}, nil, nil, nil)
	if err != nil {
		return false, err
	}
	return code == 0, nil
}

type probe struct {
	from, to string // pod name, host:port
	want     bool
}

// TestNetworkPolicyReach: with the manifests applied (kube-router enforces
// NetworkPolicy on the test cluster), a session pod reaches the gateway and
// nothing else; the same destinations from a pod outside the policies are
// reachable, which proves each denial is the policy's.
func TestNetworkPolicyReach(t *testing.T) {
	admin, image, opt := setupNamespace(t, SetupOptions{})
	ctx := ctxFor(t, 150*time.Second)
	// The gateway's image is not built here: a stand-in pod with its label
	// listens on 3128 instead of the Deployment.
	if err := admin.Apply(ctx, withoutKinds(Manifests(opt), "Deployment"), nil); err != nil {
		t.Fatal(err)
	}
	gwIP := reachPod(t, ctx, admin, "gw", image, GatewayName, GatewayPort)
	reachPod(t, ctx, admin, "sess", image, SessionApp, 0)
	otherSessIP := reachPod(t, ctx, admin, "sess2", image, SessionApp, 8080)
	plainIP := reachPod(t, ctx, admin, "plain", image, "", 8080)
	reachPod(t, ctx, admin, "control", image, "", 0)
	svc, err := admin.cs.CoreV1().Services(opt.Namespace).Get(ctx, GatewayName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gw := fmt.Sprintf("%s:%d", gwIP, GatewayPort)
	gwSvc := fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, GatewayPort)

	// The policies are in force once the allowed path works and a denied one fails.
	for {
		ok, err := connects(ctx, admin, "sess", gw)
		if err != nil {
			t.Fatal(err)
		}
		denied, err := connects(ctx, admin, "sess", otherSessIP+":8080")
		if err != nil {
			t.Fatal(err)
		}
		if ok && !denied {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the policies never took effect: session→gateway %v, session→session %v", ok, denied)
		case <-time.After(200 * time.Millisecond):
		}
	}

	probes := []probe{
		{"sess", gw, true},
		{"sess", gwSvc, true},
		{"sess", otherSessIP + ":8080", false},
		{"sess", "192.0.2.2:16443", false}, // the API server on the node
		{"sess", "192.0.2.2:10250", false}, // the kubelet
		{"sess", "10.96.0.1:443", false},   // the API server's ClusterIP
		{"sess", plainIP + ":8080", false},
		// The control pod is in no policy: what it reaches is reachable.
		{"control", plainIP + ":8080", true},
		{"control", "192.0.2.2:16443", true},
		{"control", "192.0.2.2:10250", true},
		{"control", "10.96.0.1:443", true},
		{"control", otherSessIP + ":8080", false}, // session pods take no ingress
		{"control", gw, false},                    // the gateway takes only session pods
		// The gateway reaches no private address.
		{"gw", plainIP + ":8080", false},
		{"gw", "192.0.2.2:16443", false},
		{"gw", "10.96.0.1:443", false},
	}
	var wg sync.WaitGroup
	for _, p := range probes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := connects(ctx, admin, p.from, p.to)
			if err != nil {
				t.Errorf("%s → %s: %v", p.from, p.to, err)
			} else if got != p.want {
				t.Errorf("%s → %s: connected %v, want %v", p.from, p.to, got, p.want)
			}
		}()
	}
	wg.Wait()
	for _, n := range []string{"gw", "sess", "sess2", "plain", "control"} {
		if err := admin.Remove(context.Background(), n, true); err != nil && !errors.Is(err, backend.ErrNotFound) {
			t.Errorf("remove %s: %v", n, err)
		}
	}
}

// TestRealGatewayReach applies every manifest with the real gateway image
// (scripts/k8s/gateway-image.sh): its Deployment becomes available under its
// own NetworkPolicy (the kubelet's readiness probe gets through), a session
// pod's request through the Service's ClusterIP gets the gateway's answer
// (503: no daemon has opened the tunnel), and a pod outside the policies
// cannot connect to it.
func TestRealGatewayReach(t *testing.T) {
	gwImage := os.Getenv("CLAUDERON_TEST_K8S_GATEWAY_IMAGE")
	admin, image, opt := setupNamespace(t, SetupOptions{GatewayImage: gwImage})
	if gwImage == "" {
		t.Skip("CLAUDERON_TEST_K8S_GATEWAY_IMAGE is not set (scripts/k8s/gateway-image.sh prints it)")
	}
	ctx := ctxFor(t, 120*time.Second)
	if err := admin.Apply(ctx, Manifests(opt), nil); err != nil {
		t.Fatal(err)
	}
	if err := admin.WaitGateway(ctx, func(l string) { t.Log(l) }); err != nil {
		t.Fatal(err)
	}
	st, err := admin.GatewayStatus(ctx)
	if err != nil || !st.Available || st.ClusterIP == "" {
		t.Fatalf("GatewayStatus %+v: %v", st, err)
	}
	reachPod(t, ctx, admin, "sess", image, SessionApp, 0)
	reachPod(t, ctx, admin, "control", image, "", 0)
	gw := net.JoinHostPort(st.ClusterIP, strconv.Itoa(GatewayPort))
	ask := `exec 3<>"/dev/tcp/$0/$1" || exit 9; printf 'GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n' >&3; head -c 12 <&3`
	for {
		var out bytes.Buffer
		code, err := admin.Exec(ctx, "sess", "", []string{"timeout", "5", "bash", "-c", ask, st.ClusterIP, strconv.Itoa(GatewayPort)}, nil, &out, nil)
		if err != nil {
			t.Fatal(err)
		}
		if code == 0 && out.String() == "HTTP/1.1 503" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("session → gateway %s: exit %d, %q; want the gateway's 503", gw, code, out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	if ok, err := connects(ctx, admin, "control", gw); err != nil || ok {
		t.Errorf("control → gateway %s: connected %v (%v), want refused", gw, ok, err)
	}
}
