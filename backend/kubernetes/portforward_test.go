package kubernetes

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/clauderon/clauderon/tunnel"

	"github.com/clauderon/clauderon/internal/k8stest"
)

// waitPodPhase waits until pod satisfies done, and returns it.
func waitPodPhase(t *testing.T, b *Backend, name string, what string, done func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		p, err := b.cs.CoreV1().Pods(b.ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && done(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s is not %s: %v %v", name, what, err, func() any {
				if p != nil {
					return p.Status
				}
				return nil
			}())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hardened() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr(true),
		AllowPrivilegeEscalation: ptr(false),
		ReadOnlyRootFilesystem:   ptr(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// TestTunnelThroughPortForward: the daemon's tunnel client, dialled
// through DialPod to a real gateway pod's loopback, carries a session
// pod's proxy request from the gateway's port 3128 to a fake proxy here.
func TestTunnelThroughPortForward(t *testing.T) {
	b, image := testBackend(t)
	ref := k8stest.GatewayImage(t)
	ctx := ctxFor(t, 3*time.Minute)
	gw := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "gateway-test", Labels: map[string]string{AppLabel: GatewayName}},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: ptr(false),
			Containers: []corev1.Container{{
				Name: "gateway", Image: ref, ImagePullPolicy: corev1.PullNever,
				Command:         []string{"/clauderon", "gateway", "--cluster", "--listen", ":3128", "--tunnel", GatewayTunnelAddr},
				SecurityContext: hardened(),
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(GatewayPort)}},
					PeriodSeconds: 1},
			}},
		},
	}
	gw.Spec.Containers[0].SecurityContext.RunAsUser = ptr(int64(65532))
	if _, err := b.cs.CoreV1().Pods(b.ns).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gp := waitPodPhase(t, b, gw.Name, "ready", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning && podReady(p) })
	name, err := b.GatewayPod(ctx)
	if err != nil || name != gw.Name {
		t.Fatalf("GatewayPod = %q, %v; want %s", name, err, gw.Name)
	}

	seen := make(chan string, 4)
	client, err := tunnel.NewClient(tunnel.ClientConfig{
		Intercepted: []string{"api.anthropic.com"},
		Authorize:   func(*http.Request) tunnel.Decision { return tunnel.Decision{Status: 403, Message: "not in this test"} },
		MinBackoff:  50 * time.Millisecond, MaxBackoff: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Method + " " + r.URL.String() + " " + r.Header.Get("Proxy-Authorization")
		io.WriteString(w, "hello from the daemon's side\n")
	})}
	go srv.Serve(client.Listener())
	t.Cleanup(func() { srv.Close() })
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- client.Run(runCtx, func(ctx context.Context) (net.Conn, error) {
			pod, err := b.GatewayPod(ctx)
			if err != nil {
				return nil, err
			}
			return b.DialPod(ctx, pod, GatewayTunnelPort)
		})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Client.Run: %v", err)
		}
	})
	for deadline := time.Now().Add(60 * time.Second); !client.State().Up; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the tunnel did not come up: %+v", client.State())
		}
	}

	const secret = "sk-ant-oat01-CANARY-portforward-0d9e8f7a"
	curl := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "curl-test"},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: ptr(false),
			Containers: []corev1.Container{{
				Name: ContainerName, Image: image, ImagePullPolicy: corev1.PullNever,
				Command: []string{"curl", "-sS", "--max-time", "30", "-x", "http://sess-k8s:" + secret + "@" + net.JoinHostPort(gp.Status.PodIP, "3128"),
					"http://clauderon.internal/probe"},
				SecurityContext: hardened(),
			}},
		},
	}
	curl.Spec.Containers[0].SecurityContext.RunAsUser = ptr(int64(1000))
	if _, err := b.cs.CoreV1().Pods(b.ns).Create(ctx, curl, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cp := waitPodPhase(t, b, curl.Name, "finished", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	rc, err := b.cs.CoreV1().Pods(b.ns).GetLogs(curl.Name, &corev1.PodLogOptions{}).Stream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	rc.Close()
	if cp.Status.Phase != corev1.PodSucceeded || !strings.Contains(string(out), "hello from the daemon's side") {
		t.Fatalf("curl through the gateway: %s: %q", cp.Status.Phase, out)
	}
	select {
	case s := <-seen:
		if !strings.HasPrefix(s, "GET http://clauderon.internal/probe Basic ") {
			t.Errorf("the fake proxy got %q", s)
		}
	default:
		t.Error("the fake proxy saw no request")
	}
	logRoundTrips(t, srv.Handler, net.JoinHostPort(gp.Status.PodIP, "3128"), seen)

	// The gateway pod is deleted and another takes its place (the
	// Deployment's work, done here by hand): the client finds it by its
	// label and the tunnel is up again.
	if err := b.cs.CoreV1().Pods(b.ns).Delete(ctx, gw.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); client.State().Up; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the tunnel to a deleted gateway pod is still up")
		}
	}
	gw2 := gw.DeepCopy()
	gw2.ObjectMeta = metav1.ObjectMeta{Name: "gateway-test-2", Labels: gw.Labels}
	if _, err := b.cs.CoreV1().Pods(b.ns).Create(ctx, gw2, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if s := client.State(); s.Up && s.Connects == 2 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("the tunnel did not come back to the new gateway pod: %+v", s)
		}
	}
	if name, err := b.GatewayPod(ctx); err != nil || name != gw2.Name {
		t.Errorf("GatewayPod after the replacement = %q, %v; want %s", name, err, gw2.Name)
	}
}

// logRoundTrips logs, side by side, the p50 of a request to handler
// served on the loopback and through the gateway pod at gwAddr, the
// port-forward and the tunnel: what the cluster path adds to a request
// (the node reaches the pod's address). A measurement, not an assertion.
func logRoundTrips(t *testing.T, handler http.Handler, gwAddr string, seen <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := &http.Server{Handler: handler}
	go local.Serve(ln)
	defer local.Close()
	get := func(proxyAddr string) func() time.Duration {
		tr := &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: proxyAddr})}
		t.Cleanup(tr.CloseIdleConnections)
		c := &http.Client{Transport: tr, Timeout: 20 * time.Second}
		return func() time.Duration {
			t0 := time.Now()
			resp, err := c.Get("http://clauderon.internal/rt")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			<-seen
			return time.Since(t0)
		}
	}
	direct, via := get(ln.Addr().String()), get(gwAddr)
	var d, v []time.Duration
	for range 300 {
		d = append(d, direct())
		v = append(v, via())
	}
	pd, pv := median(d), median(v)
	t.Logf("a request's p50: %v on the loopback, %v through the gateway pod, port-forward and tunnel: +%v, %.1fx", pd, pv, pv-pd, float64(pv)/float64(pd))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
