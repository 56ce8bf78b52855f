package kubernetes

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/internal/k8stest"
	"github.com/clauderon/clauderon/workspace"
)

// TestFilesAndSeeds: on the real cluster, a pod gets its read-only and
// writable files and the tools binary from its init container, its
// workspace (on a claim) filled before its command runs, and its work
// read back after it ended; Remove deletes the claim too.
func TestFilesAndSeeds(t *testing.T) {
	b, image := testBackend(t)
	b.tools = k8stest.GatewayImage(t)
	ctx := ctxFor(t, 120*time.Second)
	// A session pod's init container waits for the sessions' policy to hold.
	if _, err := b.cs.NetworkingV1().NetworkPolicies(b.ns).Create(ctx, sessionsPolicy(b.ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	defer stop()
	full, err := kubernetes.NewForConfig(b.cfg) // the stand-in provisioner's client; the backend's has no PersistentVolumes
	if err != nil {
		t.Fatal(err)
	}
	k8stest.Provision(pctx, t, full, b.ns)

	ws, objs := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(ws, "a.txt"), []byte("from the host\n"), 0o644)
	os.WriteFile(filepath.Join(objs, "pack"), []byte("objects\n"), 0o644)
	s := testSpec("seeded", image, "sh", "-c",
		`cat /workspace/a.txt /etc/clauderon-test/ro.txt "$HOME/.claude.json"; echo; echo changed > /workspace/a.txt; ln -s /etc/passwd /workspace/link;
		 cat /opt/objs/pack; touch /opt/objs/x 2>/dev/null && echo WROTE-READ-ONLY; echo x >> /etc/clauderon-test/ro.txt 2>/dev/null && echo WROTE-FILE;
		 /opt/clauderon/bin/clauderon --version >/dev/null && echo TOOLS-OK`)
	s.Env = append(s.Env, "HOME=/home/clauderon")
	s.Dirs = []backend.Dir{{Path: "/home/clauderon", UID: 1000, GID: 1000, Mode: 0o700}}
	s.Files = []backend.File{
		{Path: "/etc/clauderon-test/ro.txt", Data: []byte("read-only file\n")},
		{Path: "/home/clauderon/.claude.json", Data: []byte(`{"writable":true}`), Writable: true},
	}
	s.Seeds = []backend.Seed{{Path: "/workspace"}, {Path: "/opt/objs", ReadOnly: true}}
	id, err := b.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, id); err == nil || !strings.Contains(err.Error(), "StartSeeded") {
		t.Errorf("Start of a seeded pod: %v", err)
	}
	dirs := []string{ws, objs}
	if err := b.StartSeeded(ctx, id, func(i int, w io.Writer) error {
		return workspace.WriteTar(ctx, dirs[i], w, workspace.TarOptions{})
	}); err != nil {
		t.Fatal(err)
	}
	c := waitStatus(t, ctx, b, id, "exited")
	rc, err := b.Logs(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	for _, want := range []string{"from the host", "read-only file", `{"writable":true}`, "objects", "TOOLS-OK"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q: %s", want, out)
		}
	}
	for _, bad := range []string{"WROTE-READ-ONLY", "WROTE-FILE"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("%s: %s", bad, out)
		}
	}
	if c.ExitCode != 0 {
		t.Errorf("exit %d: %s", c.ExitCode, out)
	}
	if !strings.Contains(string(out), "TOOLS-OK") {
		t.Error("the init container did not install the tools")
	}
	cm, err := b.cs.CoreV1().ConfigMaps(b.ns).Get(ctx, FilesConfigMap(id), metav1.GetOptions{})
	if err != nil || len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].Name != id {
		t.Errorf("files configmap: %+v %v", cm, err)
	}

	// Ended: read back through a harvest pod.
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(b.Harvest(ctx, id, 0, pw)) }()
	back := filepath.Join(t.TempDir(), "back")
	if _, err := workspace.ReadTar(ctx, pr, back, workspace.TarOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(back, "a.txt")); string(got) != "changed\n" {
		t.Errorf("a.txt back: %q", got)
	}
	if fi, err := os.Lstat(filepath.Join(back, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link back: %v %v", fi, err)
	}
	if _, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, HarvestPod(id), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the harvest pod is left: %v", err)
	}
	if err := b.Remove(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	// Deleted, or being deleted once no pod uses it (pvc-protection).
	if pvc, err := b.cs.CoreV1().PersistentVolumeClaims(b.ns).Get(ctx, WorkspaceClaim(id), metav1.GetOptions{}); !apierrors.IsNotFound(err) && (err != nil || pvc.DeletionTimestamp == nil) {
		t.Errorf("the workspace claim outlived Remove: %v", err)
	}
}

// TestNoSessionWithoutWalls: where the sessions' NetworkPolicy does not hold
// (here: it is missing), a session pod never runs its command: its init
// container fails, and Start says why.
func TestNoSessionWithoutWalls(t *testing.T) {
	b, image := testBackend(t)
	b.tools = k8stest.GatewayImage(t)
	ctx := ctxFor(t, 180*time.Second)
	b.walls = 3
	s := testSpec("no-walls", image, "sh", "-c", "echo RAN")
	id, err := b.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	err = b.Start(ctx, id)
	if err == nil || !strings.Contains(err.Error(), "does not enforce") {
		t.Fatalf("Start without the sessions' policy: %v", err)
	}
	if rc, err := b.Logs(ctx, id, false); err == nil {
		out, _ := io.ReadAll(rc)
		rc.Close()
		if strings.Contains(string(out), "RAN") {
			t.Error("the command ran without the policy")
		}
	}
}
