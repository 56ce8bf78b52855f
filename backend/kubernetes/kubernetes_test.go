package kubernetes

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/internal/k8stest"
)

// These tests run against a real cluster, only when CLAUDERON_TEST_KUBECONFIG
// names its kubeconfig (scripts/k8s-up.sh prints it) and
// CLAUDERON_TEST_K8S_IMAGE an image loaded on its node
// (scripts/k8s/load-image.sh). Each test makes its own namespace and deletes it.

func testBackend(t *testing.T) (*Backend, string) {
	t.Helper()
	kc := k8stest.Need(t, "CLAUDERON_TEST_KUBECONFIG")[0]
	image := os.Getenv("CLAUDERON_TEST_K8S_IMAGE")
	if image == "" {
		t.Fatal("CLAUDERON_TEST_K8S_IMAGE is not set: name an image loaded on the cluster's node (scripts/k8s/load-image.sh clauderon-test:TAG)")
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	ns := "clauderon-test-" + hex.EncodeToString(rnd[:])
	b, err := New(Config{Kubeconfig: kc, Namespace: ns, ImagePullPolicy: corev1.PullNever})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := b.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))}); err != nil {
			t.Errorf("delete namespace %s: %v", ns, err)
		}
	})
	// The service account controller makes "default", which admission needs.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := b.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{}); err == nil {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("no default service account in %s: %v", ns, err)
		}
	}
	return b, image
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func testSpec(name, image string, cmd ...string) backend.Spec {
	return backend.Spec{
		Name:       name,
		Image:      image,
		Cmd:        cmd,
		User:       "1000:1000",
		WorkingDir: "/tmp",
		Env:        []string{"GREETING=hello there", "EMPTY="},
		Labels: map[string]string{
			"dev.clauderon.managed": "1",
			"dev.clauderon.session": name,
			"dev.clauderon.workdir": "/home/u/project", // not a valid label value: kept in the annotation
		},
		Hardened: true,
		Limits:   backend.Limits{MemoryBytes: 256 << 20, NanoCPUs: 500_000_000},
	}
}

// waitStatus polls Inspect until the container has status want.
func waitStatus(t *testing.T, ctx context.Context, b *Backend, id, want string) backend.Container {
	t.Helper()
	for {
		c, err := b.Inspect(ctx, id)
		if err != nil {
			t.Fatalf("inspect %s: %v", id, err)
		}
		if c.Status == want {
			return c
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: status %q (error %q), want %q: %v", id, c.Status, c.Error, want, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestPing(t *testing.T) {
	b, _ := testBackend(t)
	v, err := b.ServerVersion(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion == "" {
		t.Errorf("server version %+v has no gitVersion", v)
	}
	if err := b.Ping(ctxFor(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	t.Logf("server %s", v.GitVersion)
}

// TestPingUnreachable needs no cluster: nothing listens on port 1.
func TestPingUnreachable(t *testing.T) {
	b, err := newForRest(&rest.Config{Host: "https://127.0.0.1:1"}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Ping(ctxFor(t, 10*time.Second))
	if !errors.Is(err, backend.ErrEngineUnreachable) || !strings.Contains(err.Error(), "https://127.0.0.1:1") {
		t.Errorf("Ping = %v, want ErrEngineUnreachable naming the server", err)
	}
	if _, err := New(Config{ImagePullPolicy: "Sometimes"}); err == nil || !strings.Contains(err.Error(), "Sometimes") {
		t.Errorf("New with a bad pull policy: %v", err)
	}
}

func TestCreateStartExitCode(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 60*time.Second)
	t0 := time.Now()
	id, err := b.Create(ctx, testSpec("exit-code", image, "sh", "-c", `echo "out:$GREETING:$(pwd):$(id -u)"; echo err >&2; sleep 1; exit 3`))
	if err != nil {
		t.Fatal(err)
	}
	if c := waitStatus(t, ctx, b, id, "created"); c.Name != "exit-code" || c.Image != image || c.Labels["dev.clauderon.workdir"] != "/home/u/project" {
		t.Errorf("created: %+v", c)
	}
	// Held by the scheduling gate: still created a moment later.
	time.Sleep(300 * time.Millisecond)
	waitStatus(t, ctx, b, id, "created")

	t1 := time.Now()
	if err := b.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	running := time.Since(t1)
	c, err := b.Inspect(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != "running" || c.StartedAt.IsZero() {
		t.Fatalf("after Start: %+v", c)
	}
	c = waitStatus(t, ctx, b, id, "exited")
	if c.ExitCode != 3 || c.FinishedAt.Before(c.StartedAt) || c.Error != "" {
		t.Errorf("exited: %+v", c)
	}
	t.Logf("create→running %v (Start %v), create→exited %v", t1.Sub(t0)+running, running, time.Since(t0))

	rc, err := b.Logs(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	if s := string(out); !strings.Contains(s, "out:hello there:/tmp:1000\n") || !strings.Contains(s, "err\n") {
		t.Errorf("logs = %q", s)
	}
	if err := b.Start(ctx, id); err == nil || !strings.Contains(err.Error(), "cannot run again") {
		t.Errorf("Start of an exited pod: %v", err)
	}
}

func TestHardenedPod(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 30*time.Second)
	spec := testSpec("hardened", image, "true")
	spec.Entrypoint = []string{"/bin/sh", "-c"}
	spec.Cmd = []string{"exit 0"}
	spec.TTY, spec.OpenStdin = true, true
	spec.ExtraHosts = []string{"proxy.local:10.1.2.3"}
	id, err := b.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	pod, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ps := pod.Spec
	if ps.RestartPolicy != corev1.RestartPolicyNever || ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken ||
		ps.ShareProcessNamespace == nil || !*ps.ShareProcessNamespace {
		t.Errorf("pod spec: restart %s, automount %v, shareProcessNamespace %v", ps.RestartPolicy, ps.AutomountServiceAccountToken, ps.ShareProcessNamespace)
	}
	if sc := ps.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 1000 ||
		sc.RunAsGroup == nil || *sc.RunAsGroup != 1000 || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod securityContext = %+v", sc)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers", len(ps.Containers))
	}
	c := ps.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
		sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 ||
		sc.Privileged == nil || *sc.Privileged || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container securityContext = %+v", sc)
	}
	if strings.Join(c.Command, "|") != "/bin/sh|-c" || strings.Join(c.Args, "|") != "exit 0" || c.WorkingDir != "/tmp" ||
		!c.TTY || !c.Stdin || c.StdinOnce || c.ImagePullPolicy != corev1.PullNever {
		t.Errorf("container: command %q args %q dir %q tty %v stdin %v once %v pull %s", c.Command, c.Args, c.WorkingDir, c.TTY, c.Stdin, c.StdinOnce, c.ImagePullPolicy)
	}
	if len(c.Env) != 2 || c.Env[0] != (corev1.EnvVar{Name: "GREETING", Value: "hello there"}) || c.Env[1] != (corev1.EnvVar{Name: "EMPTY"}) {
		t.Errorf("env = %+v", c.Env)
	}
	if m, cpu := c.Resources.Limits[corev1.ResourceMemory], c.Resources.Limits[corev1.ResourceCPU]; m.Value() != 256<<20 || cpu.MilliValue() != 500 {
		t.Errorf("limits = %v", c.Resources.Limits)
	}
	if len(ps.HostAliases) != 1 || ps.HostAliases[0].IP != "10.1.2.3" || ps.HostAliases[0].Hostnames[0] != "proxy.local" {
		t.Errorf("host aliases = %+v", ps.HostAliases)
	}
	if pod.Labels["dev.clauderon.session"] != "hardened" || pod.Labels["dev.clauderon.managed"] != "1" {
		t.Errorf("labels = %v", pod.Labels)
	}
	if _, ok := pod.Labels["dev.clauderon.workdir"]; ok {
		t.Errorf("an invalid label value became a label: %v", pod.Labels)
	}
	if !strings.Contains(pod.Annotations[LabelsAnnotation], `"dev.clauderon.workdir":"/home/u/project"`) {
		t.Errorf("annotations = %v", pod.Annotations)
	}
	// And the running container is what was asked for: no capabilities, no new privileges.
	spec2 := testSpec("hardened-run", image, "sh", "-c", `grep -E '^(CapEff|CapPrm|NoNewPrivs|Seccomp):' /proc/self/status`)
	id2, err := b.Create(ctx, spec2)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, id2); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, ctx, b, id2, "exited")
	rc, err := b.Logs(ctx, id2, false)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	for _, want := range []string{"CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

func TestListByLabels(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 30*time.Second)
	for _, n := range []string{"list-a", "list-b"} {
		s := testSpec(n, image, "true")
		if n == "list-b" {
			s.Labels["dev.clauderon.workdir"] = "/elsewhere"
		}
		if _, err := b.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	other := testSpec("other", image, "true")
	other.Labels = map[string]string{"unrelated": "x"}
	if _, err := b.Create(ctx, other); err != nil {
		t.Fatal(err)
	}
	names := func(labels map[string]string) string {
		t.Helper()
		cs, err := b.List(ctx, labels)
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, c := range cs {
			if c.Status != "created" || c.ID != c.Name {
				t.Errorf("listed %+v", c)
			}
			ns = append(ns, c.Name)
		}
		return strings.Join(ns, ",")
	}
	for _, tc := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"dev.clauderon.managed": "1"}, "list-a,list-b"},
		{map[string]string{"dev.clauderon.managed": "1", "dev.clauderon.session": "list-b"}, "list-b"},
		{map[string]string{"dev.clauderon.workdir": "/home/u/project"}, "list-a"}, // filtered here, not by the server
		{map[string]string{"dev.clauderon.managed": "2"}, ""},
		{nil, "list-a,list-b,other"},
	} {
		if got := names(tc.labels); got != tc.want {
			t.Errorf("List(%v) = %s, want %s", tc.labels, got, tc.want)
		}
	}
}

func TestEventsStartDieDestroy(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 60*time.Second)
	ectx, cancel := context.WithCancel(ctx)
	events, errc := b.Events(ectx, map[string]string{"dev.clauderon.managed": "1"})
	time.Sleep(200 * time.Millisecond) // let the watch begin
	// A pod without the labels sends nothing.
	quiet := testSpec("quiet", image, "true")
	quiet.Labels = map[string]string{"dev.clauderon.managed": "0"}
	if _, err := b.Create(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	id, err := b.Create(ctx, testSpec("events", image, "sh", "-c", "sleep 0.5; exit 2"))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := b.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	var got []string
	next := func() backend.Event {
		t.Helper()
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("events closed: %v (after %v)", <-errc, got)
			}
			if ev.ID != id || ev.Labels["dev.clauderon.session"] != "events" || ev.Labels["dev.clauderon.workdir"] != "/home/u/project" {
				t.Errorf("event %+v", ev)
			}
			got = append(got, ev.Action)
			return ev
		case <-ctx.Done():
			t.Fatalf("no event after %v", got)
		}
		return backend.Event{}
	}
	for len(got) < 3 {
		next()
	}
	dieAfter := time.Since(t0)
	c, err := b.Inspect(ctx, id)
	if err != nil || c.Status != "exited" || c.ExitCode != 2 {
		t.Errorf("after die: %+v, %v", c, err)
	}
	if err := b.Remove(ctx, id, false); err != nil {
		t.Fatal(err)
	}
	next()
	if strings.Join(got, ",") != "create,start,die,destroy" {
		t.Errorf("events = %v, want create,start,die,destroy", got)
	}
	t.Logf("start→die event %v", dieAfter)
	cancel()
	for range events {
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("events ended with %v, want context.Canceled", err)
	}
}

func TestLogs(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 60*time.Second)
	id, err := b.Create(ctx, testSpec("logs", image, "sh", "-c", "echo one; sleep 1.5; echo two; sleep 0.5; echo three"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Follow: the stream ends when the container exits.
	rc, err := b.Logs(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(rc)
	first, err := br.ReadString('\n')
	if err != nil || first != "one\n" {
		t.Fatalf("first line %q, %v", first, err)
	}
	since := time.Now()
	rest, err := io.ReadAll(br)
	rc.Close()
	if err != nil || string(rest) != "two\nthree\n" {
		t.Errorf("followed rest = %q, %v", rest, err)
	}
	waitStatus(t, ctx, b, id, "exited")
	// Finished: everything, then only what came after since.
	rc, err = b.Logs(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(rc)
	rc.Close()
	if string(all) != "one\ntwo\nthree\n" {
		t.Errorf("logs = %q", all)
	}
	rc, err = b.LogsSince(ctx, id, since)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := io.ReadAll(rc)
	rc.Close()
	if string(after) != "two\nthree\n" {
		t.Errorf("logs since = %q", after)
	}
	if _, err := b.Logs(ctx, "no-such-pod", false); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("logs of no pod: %v", err)
	}
}

func TestStop(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 60*time.Second)
	id, err := b.Create(ctx, testSpec("stop", image, "sh", "-c", `trap 'echo term; exit 5' TERM; echo up; while :; do sleep 0.1; done`))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("Stop of a created pod: %v", err)
	}
	if err := b.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if err := b.Stop(ctx, id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop %v", time.Since(t0))
	c, err := b.Inspect(ctx, id)
	if err != nil || c.Status != "exited" || c.ExitCode != 5 {
		t.Errorf("after Stop: %+v, %v", c, err)
	}
	rc, err := b.Logs(ctx, id, false)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(rc)
	rc.Close()
	if string(out) != "up\nterm\n" {
		t.Errorf("logs = %q", out)
	}
	if err := b.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("Stop of an exited pod: %v", err)
	}
	if err := b.Stop(ctx, "no-such-pod", time.Second); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Stop of no pod: %v", err)
	}
}

func TestRemove(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 60*time.Second)
	id, err := b.Create(ctx, testSpec("remove", image, "sleep", "300"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.Remove(ctx, id, false); err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("Remove of a running pod without force: %v", err)
	}
	t0 := time.Now()
	if err := b.Remove(ctx, id, true); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := b.Inspect(ctx, id)
		if errors.Is(err, backend.ErrNotFound) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ctx.Err() != nil {
			t.Fatal("the pod is still there")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("force remove → gone %v", time.Since(t0))
	if err := b.Remove(ctx, id, true); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Remove again: %v", err)
	}
	if err := b.Start(ctx, id); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Start of no pod: %v", err)
	}
	// Same name twice: a conflict, as on Docker.
	if _, err := b.Create(ctx, testSpec("twice", image, "true")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Create(ctx, testSpec("twice", image, "true")); !errors.Is(err, backend.ErrConflict) {
		t.Errorf("second create: %v", err)
	}
}

func TestSpecsNotHonoured(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 60*time.Second)
	for _, tc := range []struct {
		name string
		edit func(*backend.Spec)
		want string
	}{
		{"mounts", func(s *backend.Spec) { s.Mounts = []backend.Mount{{Source: "/home/u", Target: "/work"}} }, "bind mount(s) cannot be honoured"},
		{"user-name", func(s *backend.Spec) { s.User = "claude" }, "must be a numeric uid"},
		{"user-root", func(s *backend.Spec) { s.User = "0:0" }, "pods run as non-root"},
		{"pids", func(s *backend.Spec) { s.Limits.Pids = 100 }, "pids limit cannot be honoured"},
		{"network", func(s *backend.Spec) { s.Network = "none" }, `network "none" cannot be honoured`},
		{"host-gateway", func(s *backend.Spec) { s.ExtraHosts = []string{"host.docker.internal:host-gateway"} }, "need a literal IP"},
		{"dirs", func(s *backend.Spec) { s.Dirs = []backend.Dir{{Path: "home/x", UID: 1000, GID: 1000, Mode: 0o700}} }, "not a clean absolute path"},
		{"writable-no-tools", func(s *backend.Spec) {
			s.Dirs = []backend.Dir{{Path: "/home/x"}}
			s.Files = []backend.File{{Path: "/home/x/.claude.json", Data: []byte("{}"), Writable: true}}
		}, "needs the tools image"},
		{"name", func(s *backend.Spec) { s.Name = "Not_A_Pod" }, "not a valid pod name"},
		{"env", func(s *backend.Spec) { s.Env = []string{"FROM_HOST"} }, "not KEY=VALUE"},
	} {
		s := testSpec("bad-"+tc.name, image, "true")
		tc.edit(&s)
		if _, err := b.Create(ctx, s); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "backend/kubernetes: create ") {
			t.Errorf("%s: Create error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	if cs, err := b.List(ctx, nil); err != nil || len(cs) != 0 {
		t.Errorf("pods made by refused specs: %v, %v", cs, err)
	}

	// What only the node can tell: Start says so.
	id, err := b.Create(ctx, testSpec("no-image", "clauderon-absent:nope", "true"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, id); !errors.Is(err, backend.ErrImageNotFound) {
		t.Errorf("Start without the image: %v", err)
	}
	root := testSpec("image-root", image, "true")
	root.User = "" // the image's USER is a name: the kubelet cannot check it is not root
	if id, err = b.Create(ctx, root); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, id); err == nil || !strings.Contains(err.Error(), "CreateContainerConfigError") {
		t.Errorf("Start with a non-numeric image user: %v", err)
	}
	if c, err := b.Inspect(ctx, id); err != nil || c.Status != "created" || c.Error == "" {
		t.Errorf("inspect after the failed start: %+v, %v", c, err)
	}

	for what, err := range map[string]error{
		"PullImage":  b.PullImage(ctx, image, nil),
		"BuildImage": b.BuildImage(ctx, ".", "", "x", nil),
	} {
		if err == nil || err.Error() != "backend/kubernetes: "+what+" is not implemented yet" {
			t.Errorf("%s: %v", what, err)
		}
	}
	// A node's images cannot be read from here: they exist until Start
	// says otherwise, and run as clauderon's fallback user.
	if ok, err := b.ImageExists(ctx, "clauderon-absent:nope"); !ok || err != nil {
		t.Errorf("ImageExists: %v %v", ok, err)
	}
	if iu, err := b.ImageUser(ctx, image); err != nil || iu.UID != 0 {
		t.Errorf("ImageUser: %+v %v", iu, err)
	}
	if gw, err := b.Gateway(ctx); gw != "" || err != nil {
		t.Errorf("Gateway: %q %v", gw, err)
	}
}

func TestAttachResize(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 60*time.Second)
	s := testSpec("attach", image, "sh", "-c", `while read l; do case "$l" in size) stty size;; quit) exit 7;; *) echo "got:$l";; esac; done`)
	s.TTY, s.OpenStdin = true, true
	id, err := b.Create(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Attach(ctx, id); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("Attach before Start: %v", err)
	}
	if err := b.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	st, err := b.Attach(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := make(chan string, 100)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := st.Read(buf)
			if n > 0 {
				out <- string(buf[:n])
			}
			if err != nil {
				close(out)
				return
			}
		}
	}()
	var seen strings.Builder
	// Send line every 300 ms until the output shows want: the attach
	// connects, and a resize lands, asynchronously.
	expect := func(line, want string) {
		t.Helper()
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		if _, err := io.WriteString(st, line+"\n"); err != nil {
			t.Fatal(err)
		}
		for !strings.Contains(seen.String(), want) {
			select {
			case s, ok := <-out:
				if !ok {
					t.Fatalf("attach ended before %q: %q", want, seen.String())
				}
				seen.WriteString(s)
			case <-tick.C:
				if _, err := io.WriteString(st, line+"\n"); err != nil {
					t.Fatal(err)
				}
			case <-ctx.Done():
				t.Fatalf("no %q in %q", want, seen.String())
			}
		}
	}
	expect("hi", "got:hi")
	t.Logf("attach → echo %v", time.Since(t0))
	if err := b.Resize(ctx, id, 33, 101); err != nil {
		t.Fatal(err)
	}
	expect("size", "33 101")
	if err := b.Resize(ctx, id, 40, 120); err != nil {
		t.Fatal(err)
	}
	expect("size", "40 120")
	if _, err := io.WriteString(st, "quit\n"); err != nil {
		t.Fatal(err)
	}
	if c := waitStatus(t, ctx, b, id, "exited"); c.ExitCode != 7 {
		t.Errorf("exit code %d, want 7", c.ExitCode)
	}
	for range out {
	}
	if err := b.Resize(ctx, "no-such-pod", 1, 1); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Resize of no pod: %v", err)
	}
}
