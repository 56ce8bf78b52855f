package kubernetes

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clauderon/clauderon/backend"
)

// What a session's Pod gets besides its image, since no host path can be
// mounted in a cluster:
//   - Spec.Dirs are emptyDir volumes (a home the image lacks, the workspace);
//   - Spec.Files are keys of a ConfigMap named FilesConfigMap(pod), owned by
//     the Pod so the cluster deletes it with the Pod. Read-only files are
//     mounted from it; writable ones (claude.json, which Claude Code
//     rewrites) are copied into their Dir by the init container;
//   - the init container, from Config.ToolsImage (the gateway's image,
//     which holds the static clauderon binary at ToolsBinary), installs
//     that binary at ToolsDir/clauderon for the hooks, and copies the
//     writable files. None of it is a secret: the ConfigMap holds the
//     proxy's CA certificate and settings, never a credential.
const (
	// ToolsBinary is the clauderon binary in the tools (gateway) image.
	ToolsBinary = "/clauderon"
	// ToolsDir is where a session's container finds clauderon
	// (gateway.Binary's directory).
	ToolsDir = "/opt/clauderon/bin"
	// InitContainerName is the name of the init container.
	InitContainerName = "setup"
	filesMount        = "/etc/clauderon-files"
	filesVolume       = "clauderon-files"
	toolsVolume       = "clauderon-tools"
)

// WallsTimeout is how long, in seconds, a session pod's init container
// waits for the sessions' NetworkPolicy to hold for it before it fails.
const WallsTimeout = 60

func (b *Backend) wallsTimeout() int {
	if b.walls > 0 {
		return b.walls
	}
	return WallsTimeout
}

// FilesConfigMap is the name of the ConfigMap that holds pod's files.
func FilesConfigMap(pod string) string { return pod + "-files" }

// addFiles gives pod the Dirs, Files and tools of spec.
func (b *Backend) addFiles(pod *corev1.Pod, spec backend.Spec) error {
	main := &pod.Spec.Containers[0]
	for i, d := range spec.Dirs {
		if !path.IsAbs(d.Path) || path.Clean(d.Path) != d.Path {
			return fmt.Errorf("dir %q is not a clean absolute path", d.Path)
		}
		name := "dir-" + strconv.Itoa(i)
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: d.Path})
	}
	if b.tools == "" {
		for _, f := range spec.Files {
			if f.Writable {
				return fmt.Errorf("writable file %s needs the tools image (kubernetes.gateway_image)", f.Path)
			}
		}
	}
	init := corev1.Container{
		Name:            InitContainerName,
		Image:           b.tools,
		ImagePullPolicy: b.pull,
		Command:         append([]string{ToolsBinary, "pod-init", "--await-walls", strconv.Itoa(b.wallsTimeout())}, gatewayArg(spec)...),
		SecurityContext: main.SecurityContext,
		// Its error (walls not up, a file it cannot write) is what Start says.
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
		// Small and fixed: it copies a binary and a few files.
		Resources: corev1.ResourceRequirements{Requests: smallRequests(), Limits: corev1.ResourceList{
			corev1.ResourceMemory: mustQuantity("64Mi"), corev1.ResourceCPU: mustQuantity("500m"),
		}},
		VolumeMounts: []corev1.VolumeMount{{Name: toolsVolume, MountPath: ToolsDir}},
	}
	init.Command = append(init.Command, "--install", path.Join(ToolsDir, "clauderon"))
	if len(spec.Files) > 0 {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: filesVolume, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: FilesConfigMap(spec.Name)}, DefaultMode: ptr(int32(0o444))},
		}})
		init.VolumeMounts = append(init.VolumeMounts, corev1.VolumeMount{Name: filesVolume, MountPath: filesMount, ReadOnly: true})
	}
	for i, f := range spec.Files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return fmt.Errorf("file %q is not a clean absolute path", f.Path)
		}
		key := fileKey(i)
		if !f.Writable {
			main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: filesVolume, MountPath: f.Path, SubPath: key, ReadOnly: true})
			continue
		}
		dir := -1
		for j, d := range spec.Dirs {
			if path.Dir(f.Path) == d.Path {
				dir = j
			}
		}
		if dir < 0 {
			return fmt.Errorf("writable file %s is not directly in one of the pod's directories", f.Path)
		}
		vol := "dir-" + strconv.Itoa(dir)
		mp := "/mnt/" + vol
		if !hasMount(init.VolumeMounts, vol) {
			init.VolumeMounts = append(init.VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: mp})
		}
		init.Command = append(init.Command, "--copy", path.Join(filesMount, key)+"="+path.Join(mp, path.Base(f.Path)))
	}
	if b.tools != "" {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: toolsVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		main.VolumeMounts = append(main.VolumeMounts, corev1.VolumeMount{Name: toolsVolume, MountPath: ToolsDir, ReadOnly: true})
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, init)
	}
	return nil
}

// gatewayArg names the gateway the pod's HTTPS_PROXY points at, which the
// init container must reach before the pod counts as walled in.
func gatewayArg(spec backend.Spec) []string {
	for _, kv := range spec.Env {
		if v, ok := strings.CutPrefix(kv, "HTTPS_PROXY="); ok {
			if u, err := url.Parse(v); err == nil && u.Host != "" {
				return []string{"--gateway", u.Host}
			}
		}
	}
	return nil
}

func fileKey(i int) string { return "f" + strconv.Itoa(i) }

func hasMount(ms []corev1.VolumeMount, name string) bool {
	for _, m := range ms {
		if m.Name == name {
			return true
		}
	}
	return false
}

// createFiles makes the ConfigMap of pod's files, owned by the Pod.
func (b *Backend) createFiles(ctx context.Context, pod *corev1.Pod, spec backend.Spec) error {
	if len(spec.Files) == 0 {
		return nil
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: FilesConfigMap(spec.Name), Namespace: b.ns,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "clauderon"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID,
			}},
		},
		BinaryData: map[string][]byte{},
		Immutable:  ptr(true),
	}
	for i, f := range spec.Files {
		cm.BinaryData[fileKey(i)] = f.Data
	}
	_, err := b.cs.CoreV1().ConfigMaps(b.ns).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Left by a Pod of the same name that is gone (its owner differs),
		// unless it is not clauderon's at all: then it is left alone.
		old, gerr := b.cs.CoreV1().ConfigMaps(b.ns).Get(ctx, cm.Name, metav1.GetOptions{})
		if gerr != nil {
			return b.wrap(gerr, "replace files of "+spec.Name)
		}
		if old.Labels["app.kubernetes.io/managed-by"] != "clauderon" {
			return fmt.Errorf("backend/kubernetes: create %s: a ConfigMap %s that clauderon did not make exists: %w", spec.Name, cm.Name, backend.ErrConflict)
		}
		if derr := b.cs.CoreV1().ConfigMaps(b.ns).Delete(ctx, cm.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &old.UID}}); derr != nil && !apierrors.IsNotFound(derr) {
			return b.wrap(derr, "replace files of "+spec.Name)
		}
		_, err = b.cs.CoreV1().ConfigMaps(b.ns).Create(ctx, cm, metav1.CreateOptions{})
	}
	return b.wrap(err, "create files of "+spec.Name)
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// smallRequests is what a helper container (init, harvest, probe) asks of
// its node: without requests, its limits would be, and a full node would
// refuse it.
func smallRequests() corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: mustQuantity("10m"), corev1.ResourceMemory: mustQuantity("16Mi")}
}
