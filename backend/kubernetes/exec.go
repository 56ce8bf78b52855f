package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/clauderon/clauderon/backend/kubernetes/kubeclient"
)

// Exec runs argv in a container of a pod through the pods/exec subresource,
// over WebSocket with a fallback to SPDY (an API server or proxy that cannot
// upgrade to WebSocket). argv is the command itself: no shell is put in
// front, so nothing in it is interpreted. stdin, when not nil, is streamed
// to the command and closed when it ends (tar -x sees its end); stdout and
// stderr may be nil to discard.
//
// A command that runs and exits non-zero returns its exit code and a nil
// error: callers tell "tar refused the stream" from "we never reached the
// pod". A pod that does not exist is backend.ErrNotFound. Ending ctx ends
// the stream and Exec returns ctx's error; Kubernetes does not kill the
// command when its stream ends, so a command meant to stop with it should
// be one that ends when its stdin or stdout closes (tar does).
func (b *Backend) Exec(ctx context.Context, pod, container string, argv []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	if len(argv) == 0 {
		return -1, fmt.Errorf("backend/kubernetes: exec in %s: no command", pod)
	}
	if container == "" {
		container = ContainerName
	}
	// Asking for the pod first gives a clear ErrNotFound (an exec upgrade
	// to a missing pod fails with an error that does not say why) and a
	// clear message for a container that is not running.
	p, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return -1, b.wrapPod(err, "exec in", pod)
	}
	if !containerRunning(p, container) {
		return -1, fmt.Errorf("backend/kubernetes: exec in %s: container %s is not running", pod, container)
	}
	req := b.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(b.ns).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: container,
			Command:   argv,
			Stdin:     stdin != nil,
			Stdout:    true,
			Stderr:    true,
		}, kubeclient.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(b.cfg, "GET", req.URL().String())
	if err != nil {
		return -1, b.wrap(err, "exec in "+pod)
	}
	spdy, err := remotecommand.NewSPDYExecutor(b.cfg, "POST", req.URL())
	if err != nil {
		return -1, b.wrap(err, "exec in "+pod)
	}
	ex, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return -1, b.wrap(err, "exec in "+pod)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	o := remotecommand.StreamOptions{Stdin: stdin, Stdout: stdout, Stderr: stderr}
	err = ex.StreamWithContext(ctx, o)
	var ee utilexec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitStatus(), nil
	case ctx.Err() != nil:
		return -1, fmt.Errorf("backend/kubernetes: exec in %s: %w", pod, ctx.Err())
	default:
		return -1, b.wrapPod(err, "exec in", pod)
	}
}

// containerRunning says whether the container name of p runs: one of its
// containers or, as StartSeeded fills the workspace through its init
// container while that waits, an init container.
func containerRunning(p *corev1.Pod, name string) bool {
	for _, list := range [][]corev1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for _, cs := range list {
			if cs.Name == name {
				return cs.State.Running != nil
			}
		}
	}
	return false
}
