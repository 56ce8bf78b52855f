package kubernetes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProbeGateway runs a short-lived pod labelled as a session (so the
// sessions' NetworkPolicy applies to it) that asks the gateway's Service
// for a tunnel without a credential: it succeeds only when the daemon's
// proxy answers (407) through the gateway and the tunnel.
func (b *Backend) ProbeGateway(ctx context.Context) error {
	if b.tools == "" {
		return fmt.Errorf("no tools image (kubernetes.gateway_image) to probe with")
	}
	addr, err := b.GatewayAddr(ctx)
	if err != nil {
		return err
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	// The dot keeps it off every session's pod name.
	name := "clauderon.probe-" + hex.EncodeToString(rnd[:])
	sc := &corev1.SecurityContext{
		RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1000)), AllowPrivilegeEscalation: ptr(false), Privileged: ptr(false),
		Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.ns, Labels: map[string]string{AppLabel: SessionApp, "app.kubernetes.io/managed-by": "clauderon"}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptr(false),
			TerminationGracePeriodSeconds: ptr(int64(0)),
			ActiveDeadlineSeconds:         ptr(int64(60)),
			Hostname:                      "clauderon-probe", // its name has a dot, which a hostname may not
			Containers: []corev1.Container{{
				Name: "probe", Image: b.tools, ImagePullPolicy: b.pull,
				Command:         []string{ToolsBinary, "pod-init", "--probe", addr},
				SecurityContext: sc,
				Resources: corev1.ResourceRequirements{Requests: smallRequests(), Limits: corev1.ResourceList{
					corev1.ResourceMemory: mustQuantity("32Mi"), corev1.ResourceCPU: mustQuantity("100m"),
				}},
			}},
		},
	}
	pods := b.cs.CoreV1().Pods(b.ns)
	made, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return b.wrap(err, "create the probe pod")
	}
	// Its own pod only (a session may be named like it).
	defer pods.Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &made.UID}})
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var code int32 = -1
	err = b.waitPod(wctx, made, func(p *corev1.Pod) (bool, error) {
		for _, cs := range p.Status.ContainerStatuses {
			if t := cs.State.Terminated; t != nil {
				code = t.ExitCode
				return true, nil
			}
			if w := cs.State.Waiting; w != nil && waitingErrors[w.Reason] {
				return true, fmt.Errorf("the probe pod cannot start: %s: %s", w.Reason, w.Message)
			}
		}
		return p.Status.Phase == corev1.PodFailed, nil
	})
	if err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			return fmt.Errorf("the probe pod did not finish: %s", b.whyPending(ctx, name))
		}
		return err
	}
	if code == 0 {
		return nil
	}
	raw, _ := pods.GetLogs(name, &corev1.PodLogOptions{Container: "probe"}).DoRaw(ctx)
	return fmt.Errorf("exit %d: %s", code, strings.TrimSpace(string(raw)))
}
