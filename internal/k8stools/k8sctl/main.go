// Command k8sctl is the small client that scripts/k8s-up.sh and k8s-down.sh
// use instead of kubectl (which this setup does not build):
//
//	k8sctl wait   -kubeconfig F -node N [-timeout D]   node Ready, default ServiceAccount present
//	k8sctl smoke  -kubeconfig F -image I [-timeout D]  a pod from a local image Ready, then exec into it
//	k8sctl exec   -kubeconfig F -n NS -pod P [-c C] -- CMD...  run CMD in a container, stdout/stderr through
//	k8sctl cri-cleanup -cri unix:///path.sock          stop and remove every pod sandbox (CNI DEL)
//
// It is also a worked example of client-go against the test cluster for the
// Kubernetes backend's tests.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/ptr"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: k8sctl wait|smoke|cri-cleanup [flags]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	kubeconfig := fs.String("kubeconfig", os.Getenv("KUBECONFIG"), "admin kubeconfig")
	node := fs.String("node", "", "node name (wait)")
	image := fs.String("image", "", "local image for the smoke pod (smoke)")
	cri := fs.String("cri", "", "CRI endpoint, unix:///... (cri-cleanup)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait")
	namespace := fs.String("n", "default", "namespace (exec)")
	podName := fs.String("pod", "", "pod (exec)")
	container := fs.String("c", "", "container (exec; default the first)")
	keep := fs.Bool("keep", false, "keep the smoke pod and its namespace (smoke)")
	netpol := fs.Bool("netpol", false, "also check that a NetworkPolicy denying egress is enforced (smoke)")
	_ = fs.Parse(os.Args[2:])
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	var err error
	switch os.Args[1] {
	case "wait":
		err = waitReady(ctx, *kubeconfig, *node)
	case "smoke":
		err = smoke(ctx, *kubeconfig, *image, *keep, *netpol)
	case "exec":
		var cfg *rest.Config
		var cs *kubernetes.Clientset
		if cfg, cs, err = client(*kubeconfig); err == nil {
			err = execIn(ctx, cfg, cs, *namespace, *podName, *container, fs.Args(), os.Stdout, os.Stderr)
		}
	case "cri-cleanup":
		err = criCleanup(ctx, *cri)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8sctl:", err)
		os.Exit(1)
	}
}

func client(kubeconfig string) (*rest.Config, *kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	return cfg, cs, err
}

// waitReady waits for the node to be Ready and for the default namespace's
// ServiceAccount, without which the ServiceAccount admission refuses pods.
func waitReady(ctx context.Context, kubeconfig, node string) error {
	_, cs, err := client(kubeconfig)
	if err != nil {
		return err
	}
	last := "apiserver not answering"
	err = wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				ready = c.Status == corev1.ConditionTrue
				last = "node " + c.Reason + ": " + c.Message
			}
		}
		if !ready {
			return false, nil
		}
		if _, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
			last = "default ServiceAccount: " + err.Error()
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("cluster not ready: %s", last)
	}
	return nil
}

func smoke(ctx context.Context, kubeconfig, image string, keep, netpol bool) error {
	cfg, cs, err := client(kubeconfig)
	if err != nil {
		return err
	}
	const ns, name = "clauderon-smoke", "smoke"
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	// The namespace's default ServiceAccount appears shortly after the namespace.
	if err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("no default ServiceAccount in %s", ns)
	}
	pods := cs.CoreV1().Pods(ns)
	_ = pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	_ = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "clauderon-smoke"}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			AutomountServiceAccountToken:  ptr.To(false),
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				RunAsUser:      ptr.To[int64](1000),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name:            "main",
				Image:           image,
				ImagePullPolicy: corev1.PullNever, // no registry is reachable
				Command:         []string{"sleep", "3600"},
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
	start := time.Now()
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		p, err := pods.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = string(p.Status.Phase)
		for _, s := range p.Status.ContainerStatuses {
			if s.State.Waiting != nil {
				last += " " + s.State.Waiting.Reason + ": " + s.State.Waiting.Message
			}
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("pod not Ready: %s", last)
	}
	ready := time.Since(start)

	// The pod runs as uid 1000, and reaches the API server through its
	// Service (kube-proxy's DNAT, the bridge and the FORWARD rules) when the
	// image has bash for /dev/tcp.
	start = time.Now()
	var out, errb bytes.Buffer
	script := `echo hello-from-pod; id -u; if command -v bash >/dev/null; then ` +
		`timeout 5 bash -c "exec 3<>/dev/tcp/$KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT" && echo service-reachable; ` +
		`else echo no-bash; fi`
	if err := execIn(ctx, cfg, cs, ns, name, "main", []string{"sh", "-c", script}, &out, &errb); err != nil {
		return fmt.Errorf("exec: %v (stderr %q)", err, errb.String())
	}
	got := out.String()
	if !strings.HasPrefix(got, "hello-from-pod\n1000\n") || strings.Count(got, "\n") != 3 ||
		!(strings.HasSuffix(got, "service-reachable\n") || strings.HasSuffix(got, "no-bash\n")) {
		return fmt.Errorf("exec output %q, stderr %q", got, errb.String())
	}
	execTime := time.Since(start)
	fmt.Printf("smoke: pod Ready in %v, exec in %v, output %q\n",
		ready.Round(time.Millisecond), execTime.Round(time.Millisecond), strings.TrimSpace(got))
	if netpol && strings.HasSuffix(got, "service-reachable\n") {
		if err := checkNetpol(ctx, cfg, cs, ns, name); err != nil {
			return err
		}
	}
	if keep {
		return nil
	}
	return cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
}

// checkNetpol denies the smoke pod all egress and waits until its
// connection to the API server's Service fails.
func checkNetpol(ctx context.Context, cfg *rest.Config, cs *kubernetes.Clientset, ns, pod string) error {
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-egress"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "clauderon-smoke"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
		},
	}
	start := time.Now()
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	script := `timeout 2 bash -c "exec 3<>/dev/tcp/$KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT" 2>/dev/null && echo open || echo blocked`
	var last string
	for time.Since(start) < 20*time.Second {
		var out bytes.Buffer
		if err := execIn(ctx, cfg, cs, ns, pod, "main", []string{"sh", "-c", script}, &out, io.Discard); err != nil {
			return err
		}
		if last = strings.TrimSpace(out.String()); last == "blocked" {
			fmt.Printf("smoke: NetworkPolicy deny-egress enforced after %v\n", time.Since(start).Round(time.Millisecond))
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("NetworkPolicy not enforced: the pod still reaches the API server (%s)", last)
}

// execIn runs cmd in a pod's container over the exec subresource (WebSocket).
func execIn(ctx context.Context, cfg *rest.Config, cs *kubernetes.Clientset, ns, pod, container string, cmd []string, stdout, stderr io.Writer) error {
	req := cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   cmd,
			Stdout:    true,
			Stderr:    true,
		}, scheme.ParameterCodec)
	exec, err := remotecommand.NewWebSocketExecutor(cfg, "GET", req.URL().String())
	if err != nil {
		return err
	}
	return exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: stdout, Stderr: stderr})
}

// criCleanup stops and removes every pod sandbox, which tears down its
// network (CNI DEL: veth, IP lease, masquerade rules) and network namespace.
func criCleanup(ctx context.Context, endpoint string) error {
	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials())) // a local unix socket
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := runtimeapi.NewRuntimeServiceClient(conn)
	list, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{})
	if err != nil {
		return err
	}
	var errs []string
	for _, sb := range list.Items {
		if _, err := rt.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.Id}); err != nil {
			errs = append(errs, err.Error())
		}
	}
	fmt.Printf("cri-cleanup: %d sandbox(es) removed\n", len(list.Items)-len(errs))
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
