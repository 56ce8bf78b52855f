package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/clauderon/clauderon/backend"
)

// StartTimeout bounds how long Start waits for a pod's container to run
// (scheduling, pulling its image, its init container).
const StartTimeout = 3 * time.Minute

// whyPending says what keeps pod from running, from its conditions and
// its containers' states.
func (b *Backend) whyPending(ctx context.Context, name string) string {
	pod, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	var why []string
	for _, c := range pod.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			why = append(why, string(c.Type)+": "+c.Message)
		}
	}
	for _, cs := range append(pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			why = append(why, cs.Name+": "+w.Reason+" "+w.Message)
		}
	}
	if len(why) == 0 {
		return "phase " + string(pod.Status.Phase)
	}
	return strings.Join(why, "; ")
}

// What a session's container requests of its node (see podFor).
var (
	defaultRequestCPU    = resource.MustParse("50m")
	defaultRequestMemory = resource.MustParse("128Mi")
)

// podFor builds the Pod spec describes, or says why spec cannot be honoured.
func (b *Backend) podFor(spec backend.Spec) (*corev1.Pod, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("backend/kubernetes: create %s: "+format, append([]any{spec.Name}, a...)...)
	}
	if errs := validation.IsDNS1123Subdomain(spec.Name); len(errs) > 0 {
		return nil, bad("not a valid pod name: %s", strings.Join(errs, "; "))
	}
	if spec.Image == "" {
		return nil, bad("no image")
	}
	if spec.Network != "" {
		return nil, bad("network %q cannot be honoured: pods have the cluster's network, which the namespace's NetworkPolicies wall off", spec.Network)
	}
	if len(spec.Mounts) > 0 {
		return nil, bad("%d host bind mount(s) cannot be honoured: a pod cannot mount the daemon's host paths", len(spec.Mounts))
	}
	if spec.Limits.Pids > 0 {
		return nil, bad("a pids limit cannot be honoured per pod (it is the kubelet's podPidsLimit)")
	}
	sc := &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr(true),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if spec.User != "" {
		uid, gid, err := numericUser(spec.User)
		if err != nil {
			return nil, bad("%v", err)
		}
		sc.RunAsUser = &uid
		if gid >= 0 {
			sc.RunAsGroup = &gid
		}
	}
	c := corev1.Container{
		Name:                     ContainerName,
		Image:                    spec.Image,
		Command:                  spec.Entrypoint,
		Args:                     spec.Cmd,
		WorkingDir:               spec.WorkingDir,
		TTY:                      spec.TTY,
		Stdin:                    spec.OpenStdin,
		StdinOnce:                false, // stdin outlives an attach, as on Docker
		ImagePullPolicy:          b.pull,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Privileged:               ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
	}
	for _, kv := range spec.Env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, bad("env %q is not KEY=VALUE", kv)
		}
		c.Env = append(c.Env, corev1.EnvVar{Name: k, Value: v})
	}
	if l := spec.Limits; l.MemoryBytes > 0 || l.NanoCPUs > 0 {
		c.Resources.Limits = corev1.ResourceList{}
		if l.MemoryBytes > 0 {
			c.Resources.Limits[corev1.ResourceMemory] = *resource.NewQuantity(l.MemoryBytes, resource.BinarySI)
		}
		if l.NanoCPUs > 0 {
			c.Resources.Limits[corev1.ResourceCPU] = *resource.NewMilliQuantity((l.NanoCPUs+999_999)/1_000_000, resource.DecimalSI)
		}
		// Without requests, Kubernetes requests the limits, and a node
		// fits only as many sessions as their limits add up to: a session
		// idles most of the time, as on Docker, where limits reserve nothing.
		c.Resources.Requests = corev1.ResourceList{}
		for name, def := range map[corev1.ResourceName]resource.Quantity{corev1.ResourceCPU: defaultRequestCPU, corev1.ResourceMemory: defaultRequestMemory} {
			if lim, ok := c.Resources.Limits[name]; ok && lim.Cmp(def) < 0 {
				def = lim
			}
			c.Resources.Requests[name] = def
		}
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: spec.Name, Namespace: b.ns, Labels: map[string]string{}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptr(false), // no credential of the cluster's either
			SecurityContext:               sc,
			Containers:                    []corev1.Container{c},
			SchedulingGates:               []corev1.PodSchedulingGate{{Name: SchedulingGate}},
			TerminationGracePeriodSeconds: ptr(int64(10)),
			// The pause container is PID 1 and reaps what the agent leaves
			// behind, as Docker's init does for Hardened.
			ShareProcessNamespace: ptr(spec.Hardened),
		},
	}
	for _, h := range spec.ExtraHosts {
		host, ip, ok := strings.Cut(h, ":")
		if !ok || net.ParseIP(ip) == nil {
			return nil, bad("extra host %q cannot be honoured: a pod's host aliases need a literal IP", h)
		}
		pod.Spec.HostAliases = append(pod.Spec.HostAliases, corev1.HostAlias{IP: ip, Hostnames: []string{host}})
	}
	if len(spec.Labels) > 0 {
		j, err := json.Marshal(spec.Labels)
		if err != nil {
			return nil, bad("labels: %v", err)
		}
		pod.Annotations = map[string]string{LabelsAnnotation: string(j)}
	}
	for k, v := range spec.Labels {
		if validLabel(k, v) {
			pod.Labels[k] = v
		}
	}
	// What the cluster's NetworkPolicy knows a session's pod by.
	pod.Labels[AppLabel] = SessionApp
	if err := b.addFiles(pod, spec); err != nil {
		return nil, bad("%v", err)
	}
	if err := b.addSeeds(pod, spec); err != nil {
		return nil, bad("%v", err)
	}
	return pod, nil
}

func validLabel(k, v string) bool {
	return len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0
}

// numericUser parses "uid" or "uid:gid" (gid -1 when absent). Kubernetes
// takes only numbers, and root is refused: pods run as non-root.
func numericUser(u string) (uid, gid int64, err error) {
	us, gs, hasG := strings.Cut(u, ":")
	uid, err = strconv.ParseInt(us, 10, 64)
	if err != nil || uid < 0 {
		return 0, 0, fmt.Errorf("user %q cannot be honoured: a pod's user must be a numeric uid[:gid]", u)
	}
	if uid == 0 {
		return 0, 0, fmt.Errorf("user %q cannot be honoured: pods run as non-root", u)
	}
	gid = -1
	if hasG {
		gid, err = strconv.ParseInt(gs, 10, 64)
		if err != nil || gid < 0 {
			return 0, 0, fmt.Errorf("user %q cannot be honoured: a pod's group must be numeric", u)
		}
	}
	return uid, gid, nil
}

func ptr[T any](v T) *T { return &v }

// Create creates the Pod spec describes, held back by SchedulingGate until
// Start. It returns the Pod's name, which is the container's ID.
func (b *Backend) Create(ctx context.Context, spec backend.Spec) (string, error) {
	pod, err := b.podFor(spec)
	if err != nil {
		return "", err
	}
	if err := b.createClaim(ctx, spec, pod.Labels); err != nil {
		return "", err
	}
	made, err := b.cs.CoreV1().Pods(b.ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil && len(spec.Seeds) > 0 {
		if derr := b.deleteClaim(context.WithoutCancel(ctx), pod.Name); derr != nil {
			err = fmt.Errorf("%w (and its workspace claim could not be removed: %v)", err, derr)
		}
	}
	switch {
	case err == nil:
		// The Pod waits at its scheduling gate until Start, so its files
		// are made now, owned by it.
		if err := b.createFiles(ctx, made, spec); err != nil {
			if derr := b.cs.CoreV1().Pods(b.ns).Delete(context.WithoutCancel(ctx), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); derr != nil && !apierrors.IsNotFound(derr) {
				return "", fmt.Errorf("%w (and the pod %s could not be removed: %v)", err, pod.Name, derr)
			}
			return "", err
		}
		return pod.Name, nil
	case apierrors.IsAlreadyExists(err):
		return "", fmt.Errorf("backend/kubernetes: create %s: %w", spec.Name, backend.ErrConflict)
	}
	return "", b.wrap(err, "create "+spec.Name)
}

// waitingErrors are the reasons a waiting container will not start by itself.
var waitingErrors = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

var imageErrors = map[string]bool{"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true, "InvalidImageName": true}

// Start lets the created Pod be scheduled and waits until its container runs
// (or has run). An exited Pod cannot be started again.
func (b *Backend) Start(ctx context.Context, id string) error {
	pod, err := b.ungate(ctx, id)
	if err != nil {
		return err
	}
	if len(seedsOf(pod)) > 0 {
		return fmt.Errorf("backend/kubernetes: start %s: its workspace must be filled: use StartSeeded", id)
	}
	return b.waitStarted(ctx, pod)
}

// ungate removes the Pod's scheduling gate.
func (b *Backend) ungate(ctx context.Context, id string) (*corev1.Pod, error) {
	pods := b.cs.CoreV1().Pods(b.ns)
	pod, err := pods.Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		return nil, b.wrapPod(err, "start", id)
	}
	if st := statusOf(pod); st.Status == "exited" || st.Status == "dead" {
		return nil, fmt.Errorf("backend/kubernetes: start %s: the pod has %s and cannot run again (restartPolicy Never)", id, st.Status)
	}
	for i, g := range pod.Spec.SchedulingGates {
		if g.Name != SchedulingGate {
			continue
		}
		patch := fmt.Sprintf(`[{"op":"test","path":"/spec/schedulingGates/%d/name","value":%q},{"op":"remove","path":"/spec/schedulingGates/%d"}]`, i, SchedulingGate, i)
		if pod, err = pods.Patch(ctx, id, types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return nil, b.wrapPod(err, "start", id)
		}
		break
	}
	return pod, nil
}

// waitStarted waits until pod's container runs, or has run.
func (b *Backend) waitStarted(ctx context.Context, pod *corev1.Pod) error {
	wctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if err := b.waitPod(wctx, pod, started); err != nil {
		if ctx.Err() == nil && wctx.Err() != nil {
			return fmt.Errorf("backend/kubernetes: start %s: not running after %s: %s", pod.Name, StartTimeout, b.whyPending(ctx, pod.Name))
		}
		if !strings.HasPrefix(err.Error(), "backend/kubernetes: ") {
			return fmt.Errorf("backend/kubernetes: start %s: %w", pod.Name, err)
		}
		return err
	}
	return nil
}

// started says whether the pod's container has started (or cannot).
func started(pod *corev1.Pod) (bool, error) {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		if cs := mainStatus(pod); cs == nil || cs.State.Terminated == nil || cs.State.Terminated.StartedAt.IsZero() {
			return true, fmt.Errorf("backend/kubernetes: start %s: the pod failed before its container ran: %s %s", pod.Name, pod.Status.Reason, pod.Status.Message)
		}
		return true, nil
	}
	for _, ic := range pod.Status.InitContainerStatuses {
		if w := ic.State.Waiting; w != nil && waitingErrors[w.Reason] {
			if imageErrors[w.Reason] {
				return true, fmt.Errorf("backend/kubernetes: start %s: %w: the tools image %s (%s: %s); load it on the nodes or fix kubernetes.gateway_image", pod.Name, backend.ErrImageNotFound, ic.Image, w.Reason, w.Message)
			}
			return true, fmt.Errorf("backend/kubernetes: start %s: its setup cannot start: %s: %s", pod.Name, w.Reason, w.Message)
		}
		if t := ic.State.Terminated; t != nil && t.ExitCode != 0 {
			return true, fmt.Errorf("backend/kubernetes: start %s: its setup failed (exit %d): %s", pod.Name, t.ExitCode, t.Message)
		}
	}
	cs := mainStatus(pod)
	if cs == nil {
		return false, nil
	}
	switch {
	case cs.State.Running != nil || cs.State.Terminated != nil:
		return true, nil
	case cs.State.Waiting != nil && waitingErrors[cs.State.Waiting.Reason]:
		w := cs.State.Waiting
		if imageErrors[w.Reason] {
			return true, fmt.Errorf("backend/kubernetes: start %s: %w: %s (%s: %s)", pod.Name, backend.ErrImageNotFound, pod.Spec.Containers[0].Image, w.Reason, w.Message)
		}
		return true, fmt.Errorf("backend/kubernetes: start %s: the container cannot start: %s: %s", pod.Name, w.Reason, w.Message)
	}
	return false, nil
}

func mainStatus(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == ContainerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// Stop stops the container and keeps the Pod: it sets the Pod's
// activeDeadlineSeconds to 1, past which the kubelet sends SIGTERM and,
// after the Pod's grace period (TerminationGracePeriodSeconds, 10 s: a Pod's
// is fixed at creation, so timeout only bounds the wait), SIGKILL. It
// returns once the container has exited; stopping a Pod that is not running
// (created or exited) is not an error.
func (b *Backend) Stop(ctx context.Context, id string, timeout time.Duration) error {
	pods := b.cs.CoreV1().Pods(b.ns)
	pod, err := pods.Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		return b.wrapPod(err, "stop", id)
	}
	if statusOf(pod).Status != "running" {
		return nil
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d == nil || *d > 1 {
		if pod, err = pods.Patch(ctx, id, types.MergePatchType, []byte(`{"spec":{"activeDeadlineSeconds":1}}`), metav1.PatchOptions{}); err != nil {
			return b.wrapPod(err, "stop", id)
		}
	}
	grace := time.Duration(ptrOr(pod.Spec.TerminationGracePeriodSeconds, 30)) * time.Second
	wctx, cancel := context.WithTimeout(ctx, max(timeout, grace)+time.Second+10*time.Second)
	defer cancel()
	err = b.waitPod(wctx, pod, func(p *corev1.Pod) (bool, error) {
		s := statusOf(p).Status
		return s == "exited" || s == "dead", nil
	})
	if err != nil {
		return fmt.Errorf("backend/kubernetes: stop %s: %w", id, err)
	}
	return nil
}

func ptrOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// waitPod watches pod until done says so, or it is deleted (ErrNotFound).
func (b *Backend) waitPod(ctx context.Context, pod *corev1.Pod, done func(*corev1.Pod) (bool, error)) error {
	pods := b.cs.CoreV1().Pods(b.ns)
	sel := fields.OneTermEqualSelector("metadata.name", pod.Name).String()
	for {
		if ok, err := done(pod); ok {
			return err
		}
		w, err := pods.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: pod.ResourceVersion})
		if err != nil {
			return b.wrapPod(err, "watch", pod.Name)
		}
		ended := false
		for !ended {
			select {
			case <-ctx.Done():
				w.Stop()
				return ctx.Err()
			case ev, ok := <-w.ResultChan():
				if !ok {
					ended = true
					break
				}
				switch p := ev.Object.(type) {
				case *corev1.Pod:
					if ev.Type == watch.Deleted {
						w.Stop()
						return fmt.Errorf("the pod was deleted: %w", backend.ErrNotFound)
					}
					pod = p
					if ok, err := done(pod); ok {
						w.Stop()
						return err
					}
				case *metav1.Status:
					w.Stop()
					return b.wrapPod(apierrors.FromObject(p), "watch", pod.Name)
				}
			}
		}
		w.Stop()
		// The watch ended early: look once more, then watch again.
		if pod, err = pods.Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
			return b.wrapPod(err, "watch", pod.Name)
		}
	}
}

// Remove deletes the Pod; force deletes it at once (grace period 0), as
// docker rm -f kills first. Without force a running Pod is refused, as Docker refuses.
func (b *Backend) Remove(ctx context.Context, id string, force bool) error {
	pods := b.cs.CoreV1().Pods(b.ns)
	o := metav1.DeleteOptions{}
	if force {
		o.GracePeriodSeconds = ptr(int64(0))
	} else {
		pod, err := pods.Get(ctx, id, metav1.GetOptions{})
		if err != nil {
			return b.wrapPod(err, "remove", id)
		}
		if statusOf(pod).Status == "running" {
			return fmt.Errorf("backend/kubernetes: remove %s: the container is running: stop it or force", id)
		}
		o.Preconditions = &metav1.Preconditions{UID: &pod.UID}
	}
	if err := pods.Delete(ctx, id, o); err != nil {
		if !apierrors.IsNotFound(err) {
			return b.wrapPod(err, "remove", id)
		}
		// Its claim may outlive it: removed below all the same.
		if cerr := b.deleteClaim(ctx, id); cerr != nil {
			return cerr
		}
		return b.wrapPod(err, "remove", id)
	}
	// A pod of the harvest pod's name that is not one is left alone
	// (deleteHarvest says so); the session's own things go all the same.
	_ = b.deleteHarvest(ctx, id)
	return b.deleteClaim(ctx, id)
}

// Inspect reports the Pod's container's state in Docker's terms: created
// (not started yet, including a Pod whose container cannot start: Error says
// why), running, exited with its exit code, dead (the Pod failed without its
// container running), or removing.
func (b *Backend) Inspect(ctx context.Context, id string) (backend.Container, error) {
	pod, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		return backend.Container{}, b.wrapPod(err, "inspect", id)
	}
	return statusOf(pod), nil
}

// statusOf maps a Pod to a backend.Container.
func statusOf(pod *corev1.Pod) backend.Container {
	c := backend.Container{ID: pod.Name, Name: pod.Name, Labels: labelsOf(pod), Status: "created"}
	if len(pod.Spec.Containers) > 0 {
		c.Image = pod.Spec.Containers[0].Image
	}
	cs := mainStatus(pod)
	switch {
	case cs != nil && cs.State.Terminated != nil:
		t := cs.State.Terminated
		c.Status, c.ExitCode = "exited", int(t.ExitCode)
		c.StartedAt, c.FinishedAt = t.StartedAt.Time, t.FinishedAt.Time
		if t.Reason == "OOMKilled" || t.Reason == "ContainerCannotRun" || t.Reason == "StartError" {
			c.Error = t.Reason + ": " + t.Message
		}
	case cs != nil && cs.State.Running != nil:
		c.Status, c.StartedAt = "running", cs.State.Running.StartedAt.Time
	case pod.Status.Phase == corev1.PodFailed || pod.Status.Phase == corev1.PodSucceeded:
		c.Status, c.Error = "dead", strings.TrimSpace(pod.Status.Reason+" "+pod.Status.Message)
	case cs != nil && cs.State.Waiting != nil && waitingErrors[cs.State.Waiting.Reason]:
		c.Error = cs.State.Waiting.Reason + ": " + cs.State.Waiting.Message
	}
	if pod.DeletionTimestamp != nil && c.Status == "running" {
		c.Status = "removing"
	}
	return c
}

// labelsOf returns the labels the Spec gave, from LabelsAnnotation, else the Pod's labels.
func labelsOf(pod *corev1.Pod) map[string]string {
	if j, ok := pod.Annotations[LabelsAnnotation]; ok {
		var l map[string]string
		if json.Unmarshal([]byte(j), &l) == nil {
			return l
		}
	}
	l := make(map[string]string, len(pod.Labels))
	for k, v := range pod.Labels {
		l[k] = v
	}
	return l
}

// selector splits labels into a server-side selector (the valid Kubernetes
// labels) and a filter for all of them.
func selector(labels map[string]string) (string, func(*corev1.Pod) bool) {
	server := k8slabels.Set{}
	for k, v := range labels {
		if validLabel(k, v) {
			server[k] = v
		}
	}
	match := func(pod *corev1.Pod) bool {
		have := labelsOf(pod)
		for k, v := range labels {
			if hv, ok := have[k]; !ok || hv != v {
				return false
			}
		}
		return true
	}
	return server.AsSelector().String(), match
}

// List returns every Pod (running or not) carrying all of labels.
func (b *Backend) List(ctx context.Context, labels map[string]string) ([]backend.Container, error) {
	sel, match := selector(labels)
	list, err := b.cs.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, b.wrap(err, "list pods")
	}
	out := make([]backend.Container, 0, len(list.Items))
	for i := range list.Items {
		if match(&list.Items[i]) {
			out = append(out, statusOf(&list.Items[i]))
		}
	}
	return out, nil
}
