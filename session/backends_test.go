package session

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/workspace"
)

// kubeHarness is a manager with a Docker engine and a cluster, both fakes.
func kubeHarness(t *testing.T) (*harness, *fakeBackend) {
	t.Helper()
	h := &harness{home: t.TempDir(), be: newFakeBackend(), auth: &fakeAuth{m: map[string]Secret{}}}
	return kubeHarnessOn(t, h, newFakeBackend())
}

// kubeHarnessOn (re)opens a manager on h's home and engines.
func kubeHarnessOn(t *testing.T, h *harness, kube *fakeBackend) (*harness, *fakeBackend) {
	t.Helper()
	dir := t.TempDir()
	ca, bundle := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "bundle.pem")
	os.WriteFile(ca, []byte("CA PEM"), 0o644)
	os.WriteFile(bundle, []byte("BUNDLE PEM"), 0o644)
	if h.m != nil {
		h.m.FlushUsage()
	}
	m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler),
		Container: ContainerConfig{ProxyPort: 18080, CAFile: ca, BundleFile: bundle},
		Kubernetes: &KubeConfig{Backend: kube, ProxyAddr: func(context.Context) (string, error) { return "10.96.7.7:3128", nil },
			Limits: Limits{MemoryBytes: 1 << 30}}})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	h.m.Reconcile(context.Background())
	t.Cleanup(func() { m.FlushUsage() })
	return h, kube
}

// TestKubernetesSessionSpec: a session created on the kubernetes backend
// runs there, not on Docker, as a pod with no host path: the CA, settings
// and claude.json are files, its proxy is the cluster gateway with the
// session's own credential, and its limits are the kubernetes section's.
func TestKubernetesSessionSpec(t *testing.T) {
	h, kube := kubeHarness(t)
	s, err := h.m.Create(context.Background(), Options{Name: "k1", Prompt: "hi", Mode: ModePrint, Backend: api.BackendKubernetes})
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend != api.BackendKubernetes || s.Gateway || s.ProxyPort != 0 {
		t.Fatalf("session %+v", s)
	}
	if len(h.be.specs) != 0 || len(kube.specs) != 1 {
		t.Fatalf("docker made %d, the cluster %d containers", len(h.be.specs), len(kube.specs))
	}
	spec := kube.specs[s.ContainerID]
	if len(spec.Entrypoint) == 0 || spec.Entrypoint[0] != "claude" || len(spec.Cmd) != 0 {
		t.Errorf("command %q / %q: want claude as the whole command, the image's ENTRYPOINT replaced", spec.Entrypoint, spec.Cmd)
	}
	if len(spec.Mounts) != 0 {
		t.Errorf("host mounts on a pod: %v", spec.Mounts)
	}
	sec, _ := h.auth.get("k1")
	var proxy string
	for _, e := range spec.Env {
		if strings.HasPrefix(e, "HTTPS_PROXY=") {
			proxy = e
		}
	}
	if want := "HTTPS_PROXY=http://k1:" + sec.Reveal() + "@10.96.7.7:3128"; proxy != want {
		t.Errorf("proxy %q, want %q", proxy, want)
	}
	files := map[string]string{}
	for _, f := range spec.Files {
		files[f.Path] = string(f.Data)
		if f.Writable != (f.Path == s.User.ClaudeCfg()) {
			t.Errorf("file %s writable=%v", f.Path, f.Writable)
		}
	}
	if files[ContainerCA] != "CA PEM" || files[ContainerBundle] != "BUNDLE PEM" || files[ContainerHookFile] == "" || files[s.User.ClaudeCfg()] == "" {
		t.Errorf("files %v", files)
	}
	if s.Limits.MemoryBytes != 1<<30 || spec.Limits.MemoryBytes != 1<<30 {
		t.Errorf("limits %+v / %+v, want the kubernetes section's memory", s.Limits, spec.Limits)
	}
	if spec.Labels[LabelBackend] != api.BackendKubernetes {
		t.Errorf("labels %v", spec.Labels)
	}
	// A pod that ended does not start again.
	kube.exit(s.ContainerID, 0)
	h.m.finish(context.Background(), "k1", s.ContainerID)
	if _, err := h.m.Continue(context.Background(), "k1", "more"); err == nil || !strings.Contains(err.Error(), "Kubernetes") {
		t.Errorf("continue on kubernetes: %v", err)
	}
	// What a pod cannot have is refused before anything is made.
	for _, o := range []Options{
		{Name: "k2", Backend: api.BackendKubernetes, Mounts: []Mount{{Source: t.TempDir(), Target: "/data"}}},
		{Name: "k3", Backend: "podman"},
	} {
		if _, err := h.m.Create(context.Background(), o); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v, want invalid", o, err)
		}
	}
}

// TestKubernetesUnreachable: while the cluster cannot be reached, its
// sessions read as unknown and are kept (not failed), Docker's are as they
// were, and once it answers they are as the cluster says.
func TestKubernetesUnreachable(t *testing.T) {
	h, kube := kubeHarness(t)
	ctx := context.Background()
	if _, err := h.m.Create(ctx, Options{Name: "d1", Prompt: "hi", Mode: ModePrint}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Create(ctx, Options{Name: "k1", Prompt: "hi", Mode: ModePrint, Backend: api.BackendKubernetes}); err != nil {
		t.Fatal(err)
	}
	kube.mu.Lock()
	kube.down = true
	kube.mu.Unlock()
	if err := h.m.Reconcile(ctx); err == nil {
		t.Error("reconcile with the cluster down: no error")
	}
	got := map[string]Session{}
	for _, s := range h.m.List() {
		got[s.Name] = s
	}
	if len(got) != 2 {
		t.Fatalf("sessions %v: one was dropped", got)
	}
	if k := got["k1"]; k.Status != api.StatusUnknown || !strings.Contains(k.Warning, "cannot be reached") {
		t.Errorf("k1 with the cluster down: %s %q", k.Status, k.Warning)
	}
	if d := got["d1"]; d.Status != StatusRunning || d.Warning != "" {
		t.Errorf("d1 with the cluster down: %s %q", d.Status, d.Warning)
	}
	if r := h.m.Unreachable(); r[api.BackendKubernetes] == "" {
		t.Errorf("Unreachable %v", r)
	}
	// Its state file keeps the session's own status.
	b, _ := os.ReadFile(filepath.Join(h.home, "sessions", "k1", stateFile))
	if !strings.Contains(string(b), `"status": "running"`) {
		t.Errorf("k1's state file: %s", b)
	}
	kube.mu.Lock()
	kube.down = false
	kube.mu.Unlock()
	if err := h.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := h.m.Get("k1"); s.Status != StatusRunning || s.Warning != "" {
		t.Errorf("k1 once the cluster answers: %s %q", s.Status, s.Warning)
	}
	// A session rebuilt from the cluster's labels alone is the cluster's.
	os.RemoveAll(filepath.Join(h.home, "sessions", "k1"))
	os.RemoveAll(filepath.Join(h.home, "sessions", "d1"))
	h2, _ := kubeHarnessOn(t, h, kube)
	s, err := h2.m.Get("k1")
	if err != nil || s.Backend != api.BackendKubernetes || !s.Rebuilt {
		t.Errorf("rebuilt k1: %+v %v", s, err)
	}
	if s, err := h2.m.Get("d1"); err != nil || s.BackendName() != api.BackendDocker {
		t.Errorf("rebuilt d1: %+v %v", s, err)
	}
	// A pod someone else made with a session's labels (copied, or with
	// one changed) is not adopted: this home did not sign them.
	k1 := kube.specs["c001"]
	forged := map[string]string{}
	for k, v := range k1.Labels {
		forged[k] = v
	}
	forged[LabelSession] = "k9"
	forged[LabelEgress] = `{"mode":"open"}`
	kube.mu.Lock()
	kube.cs["f1"] = &backend.Container{ID: "f1", Name: "clauderon-k9", Status: "running", Labels: forged}
	kube.mu.Unlock()
	h3, _ := kubeHarnessOn(t, h2, kube)
	if _, err := h3.m.Get("k9"); err == nil {
		t.Error("a pod with forged labels was adopted as session k9")
	}
	found := false
	for _, o := range h3.m.Orphans() {
		found = found || (o.ID == "f1" && strings.Contains(o.Reason, "not signed"))
	}
	if !found {
		t.Errorf("the forged pod is not an orphan: %+v", h3.m.Orphans())
	}
	if s, err := h3.m.Get("k1"); err != nil || s.Backend != api.BackendKubernetes {
		t.Errorf("k1 after the forgery: %+v %v", s, err)
	}
	// k1's own signed labels on a pod of another name vouch for nothing.
	kube.mu.Lock()
	kube.cs["f2"] = &backend.Container{ID: "f2", Name: "evil", Status: "running", Labels: k1.Labels}
	kube.mu.Unlock()
	// Removed, k1 does not come back from a pod carrying its labels,
	// under its own pod name or any other: its credential stays spent.
	if err := h3.m.Remove(context.Background(), "k1", true, true); err != nil {
		t.Fatal(err)
	}
	kube.mu.Lock()
	kube.cs["f3"] = &backend.Container{ID: "f3", Name: "clauderon-k1", Status: "running", Labels: k1.Labels}
	kube.mu.Unlock()
	h4, _ := kubeHarnessOn(t, h3, kube)
	if s, err := h4.m.Get("k1"); err == nil {
		t.Errorf("a removed session came back from a pod with its labels: %+v", s)
	}
	if _, ok := h4.auth.get("k1"); ok {
		t.Error("the removed session's credential works again")
	}
	reasons := map[string]string{}
	for _, o := range h4.m.Orphans() {
		reasons[o.ID] = o.Reason
	}
	if !strings.Contains(reasons["f2"], "not signed") || !strings.Contains(reasons["f3"], "removed") {
		t.Errorf("orphans: %v", reasons)
	}
}

// seedingFake is a cluster whose pods' workspaces are copied in and
// brought back: harvest writes what stream gives.
type seedingFake struct {
	*fakeBackend
	filled [][]byte
	stream func(w io.Writer) error
}

func (f *seedingFake) StartSeeded(ctx context.Context, id string, fill func(int, io.Writer) error) error {
	var b bytes.Buffer
	if err := fill(0, &b); err != nil {
		return err
	}
	f.filled = append(f.filled, b.Bytes())
	return f.Start(ctx, id)
}

func (f *seedingFake) Harvest(ctx context.Context, id string, i int, w io.Writer) error {
	return f.stream(w)
}

// TestKubernetesWorkspaceStall: a pod that stops sending its workspace
// midway (the agent can stop what writes it) fails that session's diff,
// clearly, keeps the host's copy as it was, and holds up no other
// session's work meanwhile.
func TestKubernetesWorkspaceStall(t *testing.T) {
	harvestFirst, harvestIdle, harvestMax = time.Second, 200*time.Millisecond, 2*time.Second
	defer func() { harvestFirst, harvestIdle, harvestMax = 5*time.Minute, time.Minute, 15*time.Minute }()
	h := &harness{home: t.TempDir(), be: newFakeBackend(), auth: &fakeAuth{m: map[string]Secret{}}}
	kube := &seedingFake{fakeBackend: newFakeBackend()}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("CA"), 0o644)
	m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler), UserHome: t.TempDir(),
		Container:  ContainerConfig{ProxyPort: 18080, CAFile: ca, BundleFile: ca},
		Kubernetes: &KubeConfig{Backend: kube, ProxyAddr: func(context.Context) (string, error) { return "10.96.7.7:3128", nil }}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.FlushUsage)
	project := t.TempDir()
	os.WriteFile(filepath.Join(project, "a.txt"), []byte("mine\n"), 0o644)
	ctx := context.Background()
	if _, err := m.Create(ctx, Options{Name: "k1", Mode: ModeInteractive, Backend: api.BackendKubernetes, Workdir: project}); err != nil {
		t.Fatal(err)
	}
	if len(kube.filled) != 1 || !bytes.Contains(kube.filled[0], []byte("mine")) {
		t.Fatalf("the pod's workspace was not filled with the project: %d", len(kube.filled))
	}
	if _, err := m.Create(ctx, Options{Name: "d1", Mode: ModeInteractive, Workdir: project}); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	kube.stream = func(w io.Writer) error {
		w.Write(kube.filled[0][:512]) // a tar header, then nothing
		<-release
		return nil
	}
	defer close(release)
	other := make(chan error, 1)
	go func() {
		_, err := m.Diff(ctx, "d1", workspace.DiffOptions{})
		other <- err
	}()
	if err := <-other; err != nil {
		t.Errorf("a Docker session's diff while the cluster's stalls: %v", err)
	}
	_, err = m.Diff(ctx, "k1", workspace.DiffOptions{})
	if err == nil || !strings.Contains(err.Error(), "sent nothing") {
		t.Fatalf("diff of a stalled pod: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(h.home, "workspaces", "k1", "a.txt")); err != nil || string(b) != "mine\n" {
		t.Errorf("the host's copy after a failed sync: %q %v", b, err)
	}
	// A trickle, one byte at a time, is given up past harvestMax.
	kube.stream = func(w io.Writer) error {
		for i := 0; i < len(kube.filled[0]); i++ {
			if _, err := w.Write(kube.filled[0][i : i+1]); err != nil {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return nil
	}
	_, err = m.Diff(ctx, "k1", workspace.DiffOptions{})
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("diff of a trickling pod: %v", err)
	}
}
