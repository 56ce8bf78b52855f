package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clauderon/clauderon/backend"
)

// A Spec's Seeds (the workspace, and the object store its git reads) live
// on a PersistentVolumeClaim of their own, WorkspaceClaim(pod), so they
// outlive the Pod: seed i is the claim's directory "i", mounted at its
// Path. The init container mounts the whole claim at seedMount and waits
// for seedMarker, while StartSeeded fills each directory through exec
// (`pod-init --untar`); a Pod that runs again finds the marker. Harvest
// execs `pod-init --tar` in the running container, or, once it ended, in a
// short-lived Pod of the tools image that mounts the claim read-only.
const (
	seedVolume = "clauderon-workspace"
	seedMount  = "/mnt/seed"
	seedMarker = seedMount + "/.ready"
	// DefaultWorkspaceSize is the claim's size unless Config says otherwise.
	DefaultWorkspaceSize = "10Gi"
	// harvestHold bounds how long a harvest Pod lives if the daemon dies
	// before it deletes it.
	harvestHold = 600
)

// WorkspaceClaim is the name of the PersistentVolumeClaim of pod's seeds.
func WorkspaceClaim(pod string) string { return pod + "-workspace" }

// HarvestPod is the name of the Pod that lends an ended pod's claim to
// Harvest: with a dot, which no session's pod name has, so it is never
// another session's.
func HarvestPod(pod string) string { return pod + ".harvest" }

// harvestOf labels a harvest Pod with the pod whose claim it lends.
const harvestOf = "dev.clauderon/harvest-of"

// deleteHarvest deletes pod's harvest Pod, only if it is one.
func (b *Backend) deleteHarvest(ctx context.Context, pod string) error {
	pods := b.cs.CoreV1().Pods(b.ns)
	hp, err := pods.Get(ctx, HarvestPod(pod), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return b.wrap(err, "harvest "+pod)
	}
	if hp.Labels[harvestOf] != pod {
		return fmt.Errorf("backend/kubernetes: harvest %s: a pod named %s exists and is not its harvest pod; leaving it", pod, hp.Name)
	}
	err = pods.Delete(ctx, hp.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &hp.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		return b.wrap(err, "harvest "+pod)
	}
	return nil
}

var _ backend.Seeder = (*Backend)(nil)

// addSeeds gives pod the claim of spec's Seeds, mounted where they go.
func (b *Backend) addSeeds(pod *corev1.Pod, spec backend.Spec) error {
	if len(spec.Seeds) == 0 {
		return nil
	}
	if b.tools == "" {
		return fmt.Errorf("a workspace needs the tools image (kubernetes.gateway_image)")
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: seedVolume, VolumeSource: corev1.VolumeSource{
		PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: WorkspaceClaim(spec.Name)},
	}})
	main := &pod.Spec.Containers[0]
	for i, s := range spec.Seeds {
		if !path.IsAbs(s.Path) || path.Clean(s.Path) != s.Path {
			return fmt.Errorf("seed %q is not a clean absolute path", s.Path)
		}
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: seedVolume, MountPath: s.Path, SubPath: strconv.Itoa(i), ReadOnly: s.ReadOnly})
	}
	init := &pod.Spec.InitContainers[len(pod.Spec.InitContainers)-1]
	init.VolumeMounts = append(init.VolumeMounts, corev1.VolumeMount{Name: seedVolume, MountPath: seedMount})
	init.Command = append(init.Command, "--await", seedMarker)
	return nil
}

// createClaim makes the claim of spec's seeds, before its Pod.
func (b *Backend) createClaim(ctx context.Context, spec backend.Spec, labels map[string]string) error {
	if len(spec.Seeds) == 0 {
		return nil
	}
	size, err := resource.ParseQuantity(b.wsSize)
	if err != nil {
		return fmt.Errorf("backend/kubernetes: workspace size %q: %w", b.wsSize, err)
	}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: WorkspaceClaim(spec.Name), Namespace: b.ns, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	if b.storageClass != "" {
		pvc.Spec.StorageClassName = ptr(b.storageClass)
	}
	_, err = b.cs.CoreV1().PersistentVolumeClaims(b.ns).Create(ctx, pvc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("backend/kubernetes: create %s: its workspace claim %s exists already (left by a session of that name?): %w", spec.Name, pvc.Name, backend.ErrConflict)
	}
	return b.wrap(err, "create the workspace claim of "+spec.Name)
}

// deleteClaim deletes pod's claim, if it has one.
func (b *Backend) deleteClaim(ctx context.Context, pod string) error {
	err := b.cs.CoreV1().PersistentVolumeClaims(b.ns).Delete(ctx, WorkspaceClaim(pod), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return b.wrap(err, "remove the workspace of "+pod)
	}
	return nil
}

// seedsOf are the paths of pod's seeds, in order.
func seedsOf(pod *corev1.Pod) []string {
	var out []string
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		if m.Name == seedVolume {
			out = append(out, m.MountPath)
		}
	}
	return out
}

// StartSeeded lets the Pod be scheduled, fills its seeds while its init
// container waits, and waits until its container runs.
func (b *Backend) StartSeeded(ctx context.Context, id string, fill func(i int, w io.Writer) error) error {
	pod, err := b.ungate(ctx, id)
	if err != nil {
		return err
	}
	n := len(seedsOf(pod))
	if n == 0 {
		return b.waitStarted(ctx, pod)
	}
	var filling bool
	wctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	err = b.waitPod(wctx, pod, func(p *corev1.Pod) (bool, error) {
		for _, ic := range p.Status.InitContainerStatuses {
			if ic.Name == InitContainerName && ic.State.Running != nil {
				filling = true
				return true, nil
			}
		}
		// Filled already (a Pod run again), or one that cannot start.
		return started(p)
	})
	if err != nil && ctx.Err() == nil && wctx.Err() != nil {
		return fmt.Errorf("backend/kubernetes: start %s: not ready for its workspace after %s: %s", id, StartTimeout, b.whyPending(ctx, id))
	}
	if err != nil {
		return fmt.Errorf("backend/kubernetes: start %s: %w", id, err)
	}
	if filling {
		for i := range n {
			if err := b.fillSeed(ctx, id, i, fill); err != nil {
				return err
			}
		}
		if err := b.execOK(ctx, id, InitContainerName, []string{ToolsBinary, "pod-init", "--ready", seedMarker}, nil, nil); err != nil {
			return err
		}
	}
	return b.waitStarted(ctx, pod)
}

func (b *Backend) fillSeed(ctx context.Context, id string, i int, fill func(i int, w io.Writer) error) error {
	argv := []string{ToolsBinary, "pod-init", "--untar", path.Join(seedMount, strconv.Itoa(i))}
	res, err := b.ExecWithInput(ctx, id, InitContainerName, argv, func(w io.Writer) error { return fill(i, w) })
	switch {
	case err != nil:
		return fmt.Errorf("backend/kubernetes: start %s: copying its workspace: %w", id, err)
	case res.ExitCode != 0:
		return fmt.Errorf("backend/kubernetes: start %s: copying its workspace: pod-init exited %d: %s", id, res.ExitCode, strings.TrimSpace(res.Stderr))
	}
	return nil
}

// execOK runs argv in a container of pod and fails unless it exits 0,
// with the end of its stderr (which the caller escapes: it may be the
// agent's).
func (b *Backend) execOK(ctx context.Context, pod, container string, argv []string, stdin io.Reader, stdout io.Writer) error {
	var stderr tail
	code, err := b.Exec(ctx, pod, container, argv, stdin, stdout, &stderr)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("backend/kubernetes: %s in %s exited %d: %s", argv[2], pod, code, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Harvest writes seed i of pod id as a tar stream to w.
func (b *Backend) Harvest(ctx context.Context, id string, i int, w io.Writer) error {
	pod, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		return b.wrapPod(err, "harvest", id)
	}
	seeds := seedsOf(pod)
	if i < 0 || i >= len(seeds) {
		return fmt.Errorf("backend/kubernetes: harvest %s: it has no seed %d", id, i)
	}
	if containerRunning(pod, ContainerName) {
		return b.execOK(ctx, id, ContainerName, []string{path.Join(ToolsDir, "clauderon"), "pod-init", "--tar", seeds[i]}, nil, w)
	}
	return b.harvestEnded(ctx, pod, i, w)
}

// harvestEnded reads seed i of an ended pod through a Pod of the tools
// image that mounts its claim read-only.
func (b *Backend) harvestEnded(ctx context.Context, pod *corev1.Pod, i int, w io.Writer) error {
	pods := b.cs.CoreV1().Pods(b.ns)
	name := HarvestPod(pod.Name)
	sc := pod.Spec.Containers[0].SecurityContext
	hp := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.ns, Labels: map[string]string{AppLabel: SessionApp, "app.kubernetes.io/managed-by": "clauderon", harvestOf: pod.Name}},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  ptr(false),
			SecurityContext:               pod.Spec.SecurityContext,
			TerminationGracePeriodSeconds: ptr(int64(0)),
			ActiveDeadlineSeconds:         ptr(int64(harvestHold)),
			NodeName:                      pod.Spec.NodeName,   // where a ReadWriteOnce claim is attached
			Hostname:                      "clauderon-harvest", // its name has a dot, which a hostname may not
			Containers: []corev1.Container{{
				Name: "harvest", Image: b.tools, ImagePullPolicy: b.pull,
				Command:         []string{ToolsBinary, "pod-init", "--hold", strconv.Itoa(harvestHold)},
				SecurityContext: sc,
				Resources: corev1.ResourceRequirements{Requests: smallRequests(), Limits: corev1.ResourceList{
					corev1.ResourceMemory: mustQuantity("128Mi"), corev1.ResourceCPU: mustQuantity("500m"),
				}},
				VolumeMounts: []corev1.VolumeMount{{Name: seedVolume, MountPath: "/ws", SubPath: strconv.Itoa(i), ReadOnly: true}},
			}},
			Volumes: []corev1.Volume{{Name: seedVolume, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: WorkspaceClaim(pod.Name), ReadOnly: true},
			}}},
		},
	}
	// One left by a daemon that died mid-harvest is replaced.
	if err := b.deleteHarvest(ctx, pod.Name); err != nil {
		return err
	}
	var made *corev1.Pod
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; {
		made, err = pods.Create(ctx, hp, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) || time.Now().After(deadline) {
			break
		}
		if werr := b.waitGone(ctx, name); werr != nil {
			return werr
		}
	}
	if err != nil {
		return b.wrap(err, "harvest "+pod.Name)
	}
	defer func() {
		// activeDeadlineSeconds ends it anyway if this fails.
		_ = pods.Delete(context.WithoutCancel(ctx), name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0)), Preconditions: &metav1.Preconditions{UID: &made.UID}})
	}()
	err = b.waitPod(ctx, made, func(p *corev1.Pod) (bool, error) {
		if containerRunning(p, "harvest") {
			return true, nil
		}
		if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
			return true, fmt.Errorf("the harvest pod ended: %s %s", p.Status.Reason, p.Status.Message)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if w := cs.State.Waiting; w != nil && waitingErrors[w.Reason] {
				return true, fmt.Errorf("the harvest pod cannot start: %s: %s", w.Reason, w.Message)
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("backend/kubernetes: harvest %s: %w", pod.Name, err)
	}
	return b.execOK(ctx, name, "harvest", []string{ToolsBinary, "pod-init", "--tar", "/ws"}, nil, w)
}

// waitGone waits until pod name no longer exists.
func (b *Backend) waitGone(ctx context.Context, name string) error {
	p, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return b.wrapPod(err, "wait for", name)
	}
	err = b.waitPod(ctx, p, func(*corev1.Pod) (bool, error) { return false, nil })
	if err != nil && strings.Contains(err.Error(), backend.ErrNotFound.Error()) {
		return nil
	}
	return err
}

// tail keeps the last 4 KiB written to it.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 4<<10 {
		t.b = bytes.Clone(t.b[len(t.b)-4<<10:])
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.b) }
