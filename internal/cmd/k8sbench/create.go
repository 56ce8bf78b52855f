package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/clauderon/clauderon/session"
)

// createRows measures create → running of an interactive session on
// Kubernetes against a plain pod of the same image made with client-go and
// watched until Running (what `kubectl run` does), and a print session on
// Kubernetes against the same on Docker, through the same daemon. Each
// measurement runs alone, its pod gone before the next; the order
// alternates between rounds.
func (b *bench) createRows(ctx context.Context) error {
	var create, plain, printK, printD []time.Duration
	for i := range b.rounds {
		logf("create and print: round %d/%d", i+1, b.rounds)
		steps := []func() error{
			func() error {
				n := fmt.Sprintf("bench-i%d", i)
				d, err := b.timeCmd(b.bin, "create", "--backend", "kubernetes", "--no-workdir", "--name", n, "--prompt", "hello", "--image", b.image)
				create = append(create, d)
				return errors.Join(err, b.quiet(b.bin, "rm", "--force", n), b.waitPodGone(ctx, session.ContainerName(n)))
			},
			func() error {
				n := fmt.Sprintf("bench-plain-%d", i)
				d, err := b.plainPod(ctx, n)
				plain = append(plain, d)
				del := b.cs.CoreV1().Pods(b.ns).Delete(ctx, n, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
				return errors.Join(err, del, b.waitPodGone(ctx, n))
			},
			func() error {
				n := fmt.Sprintf("bench-pk%d", i)
				d, err := b.timeCmd(b.bin, "create", "--backend", "kubernetes", "--print", "--wait", "--no-workdir", "--name", n, "--prompt", "hello", "--image", b.image)
				printK = append(printK, d)
				return errors.Join(err, b.quiet(b.bin, "rm", "--force", n), b.waitPodGone(ctx, session.ContainerName(n)))
			},
			func() error {
				n := fmt.Sprintf("bench-pd%d", i)
				d, err := b.timeCmd(b.bin, "create", "--backend", "docker", "--print", "--wait", "--no-workdir", "--name", n, "--prompt", "hello", "--image", b.image)
				printD = append(printD, d)
				return errors.Join(err, b.quiet(b.bin, "rm", "--force", n))
			},
		}
		if i%2 == 1 {
			steps[0], steps[1], steps[2], steps[3] = steps[1], steps[0], steps[3], steps[2]
		}
		for _, f := range steps {
			if err := f(); err != nil {
				return err
			}
		}
	}
	fmt.Printf("\n| Kubernetes, %d rounds (ms) | clauderon p50 | p90 | baseline p50 | p90 | ratio p50 | p90 | goal |\n|---|---|---|---|---|---|---|---|\n", b.rounds)
	row := func(what string, c, base []time.Duration, goal string) {
		fmt.Printf("| %s | %.0f | %.0f | %.0f | %.0f | %.2fx | %.2fx | %s |\n", what,
			pct(c, 50), pct(c, 90), pct(base, 50), pct(base, 90), pct(c, 50)/pct(base, 50), pct(c, 90)/pct(base, 90), goal)
	}
	row("`create --backend kubernetes` (interactive) → running, vs a plain pod of the image created and watched to Running (`kubectl run`)", create, plain, "≤ 1.2x")
	row("print session `create --print --wait` on Kubernetes vs the same on Docker (same daemon)", printK, printD, "")
	return nil
}

// plainPod creates pod name of the test image, as hardened and with the
// same requests as a session's but nothing else (no init container, no
// files, no gateway), and times it from the create call to the first
// watch event that shows it Running.
func (b *bench) plainPod(ctx context.Context, name string) (time.Duration, error) {
	pods := b.cs.CoreV1().Pods(b.ns)
	yes, no := true, false
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                corev1.RestartPolicyNever,
			AutomountServiceAccountToken: &no,
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot: &yes, RunAsUser: &b.uid,
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			Containers: []corev1.Container{{
				Name: "claude", Image: b.image, ImagePullPolicy: corev1.PullNever,
				Args: session.ClaudeArgv(session.ModeInteractive, "hello"), TTY: true, Stdin: true,
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("128Mi"),
				}},
				SecurityContext: &corev1.SecurityContext{
					RunAsNonRoot: &yes, AllowPrivilegeEscalation: &no,
					Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
				},
			}},
		},
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	made, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return 0, err
	}
	w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String(), ResourceVersion: made.ResourceVersion})
	if err != nil {
		return 0, err
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if !ok || ev.Type == watch.Deleted {
			continue
		}
		switch p.Status.Phase {
		case corev1.PodRunning:
			return time.Since(t0), nil
		case corev1.PodFailed, corev1.PodSucceeded:
			// Without the gateway Claude Code may give up before the kubelet
			// reports it running: it started all the same, which is what a
			// session's start waits for too.
			for _, c := range p.Status.ContainerStatuses {
				// (One that never started has StartedAt at 1970, not zero.)
				if t := c.State.Terminated; t != nil && t.StartedAt.After(time.Unix(0, 0)) {
					return time.Since(t0), nil
				}
			}
			return 0, fmt.Errorf("plain pod %s ended %s before it was seen running", name, p.Status.Phase)
		}
	}
	return 0, fmt.Errorf("plain pod %s was not running within 3 minutes (%v)", name, ctx.Err())
}
