//go:build linux

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend/kubernetes"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/k8stest"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testimage"
	"github.com/clauderon/clauderon/session"
)

// k8sEnv is a daemon whose kubernetes section names a namespace of the
// test cluster of its own, set up with `clauderon k8s setup --apply`.
type k8sEnv struct {
	home, kubeconfig, ns, image, gwImage string
	fake                                 *fakeanthropic.Server
	d                                    *sessDaemon
	cs                                   k8sclient.Interface
	b                                    *kubernetes.Backend
}

func newK8sEnv(t *testing.T) *k8sEnv {
	t.Helper()
	kc := k8stest.Kubeconfig(t)
	requireDocker(t)
	e := &k8sEnv{kubeconfig: kc, image: k8stest.Image(t), gwImage: k8stest.GatewayImage(t)}
	var rnd [3]byte
	rand.Read(rnd[:])
	e.ns = "clauderon-e2e-" + hex.EncodeToString(rnd[:])
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	if e.cs, err = k8sclient.NewForConfig(rc); err != nil {
		t.Fatal(err)
	}
	if e.b, err = kubernetes.New(kubernetes.Config{Kubeconfig: kc, Namespace: e.ns, ImagePullPolicy: corev1.PullNever, ToolsImage: e.gwImage}); err != nil {
		t.Fatal(err)
	}
	e.home, e.fake = fakeHome(t)
	// The daemon's own config: the cluster, the namespace, what it runs.
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(e.home, config.FileName))
	json.Unmarshal(b, &cfg)
	cfg["ui"] = map[string]any{"port": -1}
	cfg["kubernetes"] = config.Kubernetes{Kubeconfig: kc, Namespace: e.ns, ImagePullPolicy: "Never", GatewayImage: e.gwImage}
	b, _ = json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(e.home, config.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	out := clOK(t, e.home, "k8s", "setup", "--apply")
	t.Logf("k8s setup --apply:\n%s", out)
	t.Cleanup(func() {
		if err := e.cs.CoreV1().Namespaces().Delete(context.Background(), e.ns, metav1.DeleteOptions{}); err != nil {
			t.Errorf("delete namespace %s: %v", e.ns, err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	k8stest.Provision(ctx, t, e.cs, e.ns)
	e.d = startSessDaemon(t, e.home, 0)
	return e
}

// exec runs argv in session name's pod, as the agent could.
func (e *k8sEnv) exec(t *testing.T, name string, argv ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out syncbuf.Buffer // stdout and stderr are copied at once
	code, err := e.b.Exec(ctx, session.ContainerName(name), "", argv, nil, &out, &out)
	if err != nil {
		t.Fatalf("exec %v in %s: %v", argv, name, err)
	}
	return out.String(), code
}

// assertNoCanaryInCluster scans what the namespace holds for the canary:
// every Secret, ConfigMap and Pod (spec, environment and status), every
// container's log, and every workspace volume's files.
func (e *k8sEnv) assertNoCanaryInCluster(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	secrets, err := e.cs.CoreV1().Secrets(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(secrets)
	assertNoCanary(t, "the namespace's Secrets", string(b), Canary)
	cms, err := e.cs.CoreV1().ConfigMaps(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cms.Items) == 0 {
		t.Error("no ConfigMap to scan: the sessions' files are not where they are looked for")
	}
	b, _ = json.Marshal(cms)
	assertNoCanary(t, "the namespace's ConfigMaps", string(b), Canary)
	pods, err := e.cs.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(pods)
	assertNoCanary(t, "the namespace's pod specs", string(b), Canary)
	for _, p := range pods.Items {
		for _, c := range append(p.Spec.InitContainers, p.Spec.Containers...) {
			raw, err := e.cs.CoreV1().Pods(e.ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name}).DoRaw(ctx)
			if err == nil {
				assertNoCanary(t, "the log of "+p.Name+"/"+c.Name, string(raw), Canary)
			}
		}
	}
	// The workspace volumes, on the node's disk (the stand-in provisioner's).
	if pv := filepath.Join(clusterDir(), "pv", e.ns); dirExists(pv) {
		assertNoCanaryUnder(t, pv, Canary)
	}
}

func clusterDir() string {
	if d := os.Getenv("CLAUDERON_K8S_DIR"); d != "" {
		return d
	}
	return "/tmp/clauderon-k8s"
}

// TestK8sPrint: a print session on Kubernetes runs the real Claude Code in
// a pod, which reaches the fake upstream through the cluster's gateway, the
// tunnel and the daemon's proxy; the fake saw the canary as Bearer; the
// audit log names the session; and the canary is nowhere in the cluster.
func TestK8sPrint(t *testing.T) {
	e := newK8sEnv(t)
	name := sname("kp")
	out := clOK(t, e.home, "create", "--backend", "kubernetes", "--name", name, "--prompt", "say hello", "--print", "--wait", "--image", e.image, "--no-workdir")
	if !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Fatalf("create --wait printed %q, want the fake's reply", out)
	}
	msgs := e.fake.MessageRequests()
	if len(msgs) == 0 {
		t.Fatal("the fake upstream received no /v1/messages request")
	}
	for _, r := range msgs {
		if r.Authorization != "Bearer "+Canary {
			t.Errorf("the fake received Authorization %q, want the canary as Bearer", r.Authorization)
		}
	}
	injected := false
	for _, l := range readAudit(t, e.home) {
		injected = injected || (l.Session == name && l.AuthInjected)
	}
	if !injected {
		t.Error("the audit log has no auth_injected line for the session")
	}
	s, ok := findSession(listSessions(t, e.home), name)
	if !ok || s.Backend != api.BackendKubernetes || s.Status != session.StatusExited || s.Result == nil || s.Result.Text != fakeanthropic.DefaultReply {
		t.Errorf("the session: %+v", s)
	}
	if l := clOK(t, e.home, "list"); !strings.Contains(l, "kubernetes") || !strings.Contains(l, "BACKEND") {
		t.Errorf("list:\n%s", l)
	}
	logs := clOK(t, e.home, "logs", "--raw", name)
	if !strings.Contains(logs, `"type":"result"`) {
		t.Errorf("logs lack the result: %.300s", logs)
	}
	assertNoCanary(t, "the session's logs", logs, Canary)
	e.assertNoCanaryInCluster(t)
	assertNoCanaryUnder(t, e.home, Canary)
	assertNoCanary(t, "the daemon's log", e.d.logs.String(), Canary)

	// Doctor checks the cluster, the rights, the gateway, the tunnel, and
	// that a pod reaches the proxy through them.
	docOut, _, _ := cl(t, e.home, "doctor", "--json", "--image", e.image)
	var doc api.Doctor
	if err := json.Unmarshal([]byte(docOut), &doc); err != nil {
		t.Fatalf("doctor --json: %v\n%s", err, docOut)
	}
	rows := map[string]api.Check{}
	for _, c := range doc.Checks {
		if strings.HasPrefix(c.Name, "k8s") {
			rows[c.Name] = c
		}
	}
	for _, n := range []string{"k8s", "k8s-gateway", "k8s-tunnel", "k8s-reach"} {
		if c, ok := rows[n]; !ok || !c.OK {
			t.Errorf("doctor's %s row: %+v (present %v)", n, c, ok)
		}
	}

	// Continue cannot run a pod again: clearly refused.
	if _, errOut, code := cl(t, e.home, "continue", name, "more"); code == 0 || !strings.Contains(errOut, "Kubernetes") {
		t.Errorf("continue: %d %s", code, errOut)
	}
	clOK(t, e.home, "rm", name)
	if _, err := e.cs.CoreV1().Pods(e.ns).Get(context.Background(), session.ContainerName(name), metav1.GetOptions{}); err == nil {
		t.Error("the pod survived rm")
	}
}

func dirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// agentSh runs a shell script in session name's pod, in its workspace, as
// the agent would.
func (e *k8sEnv) agentSh(t *testing.T, name, script string) string {
	t.Helper()
	out, code := e.exec(t, name, "sh", "-c", "set -e\ncd "+session.ContainerWorkdir+"\n"+script)
	if code != 0 {
		t.Fatalf("agent script in %s exited %d:\n%s", name, code, out)
	}
	return out
}

// waitRunning waits until session name is running.
func (e *k8sEnv) waitRunning(t *testing.T, name string) {
	t.Helper()
	waitFor(t, name+" running", func() bool {
		s, ok := findSession(listSessions(t, e.home), name)
		return ok && s.Status == session.StatusRunning
	})
}

// proxyCode is what a request from inside session name's pod, through its
// HTTPS_PROXY (the gateway, the tunnel, the proxy), to the fake gets.
func (e *k8sEnv) proxyCode(t *testing.T, name string) string {
	t.Helper()
	out, _ := e.exec(t, name, "curl", "-sS", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", "https://api.anthropic.com/echo/x")
	return strings.TrimSpace(out)
}

// TestK8sInteractive: attach to a session's pod through a pty, see Claude
// Code's TUI with the fake's answer, resize, and detach with the keys,
// leaving it running.
func TestK8sInteractive(t *testing.T) {
	e := newK8sEnv(t)
	name := sname("ki")
	clOK(t, e.home, "create", "--backend", "kubernetes", "--name", name, "--prompt", "say hello", "--image", e.image, "--no-workdir")
	p := startOnPTY(t, e.home, 40, 120, "attach", name)
	text := p.output
	waitFor(t, "the detach hint", func() bool { return strings.Contains(text(), "ctrl-p ctrl-q") })
	waitFor(t, "the answer in Claude Code's TUI", func() bool { return strings.Contains(screenText(text()), "fakeAnthropicupstream") })
	// Typing reaches Claude Code: a second prompt is sent to the fake.
	before := len(e.fake.MessageRequests())
	p.ptmx.Write([]byte("say it again"))
	waitFor(t, "the typed prompt on screen", func() bool { return strings.Contains(screenText(text()), "sayitagain") })
	p.ptmx.Write([]byte("\r"))
	waitFor(t, "the typed prompt at the fake", func() bool {
		for _, r := range e.fake.MessageRequests()[before:] {
			if strings.Contains(string(r.Body), "say it again") {
				return true
			}
		}
		return false
	})
	// A resize of the attached terminal reaches the pod's.
	pty.Setsize(p.ptmx, &pty.Winsize{Rows: 33, Cols: 101})
	waitFor(t, "the pod's terminal at 33x101", func() bool {
		out, _ := e.exec(t, name, "stty", "-F", "/dev/pts/0", "size")
		return strings.TrimSpace(out) == "33 101"
	})
	p.detach(t, name)
	if s, ok := findSession(listSessions(t, e.home), name); !ok || s.Status != session.StatusRunning {
		t.Errorf("after detaching: %+v", s)
	}
}

// TestK8sWorkspace: a session's workspace on Kubernetes: the pod starts
// with the user's project; the agent commits, changes and plants every git
// feature that runs a program; diff and land on the host show the work and
// run none of it, and rm refuses to drop unlanded work.
func TestK8sWorkspace(t *testing.T) {
	e := newK8sEnv(t)
	repo, parent := userRepo(t, map[string]string{"main.go": "package main\n\nfunc main() {}\n", "README.md": "# project\n"})
	sentinels := filepath.Join(parent, "sentinels")
	os.Mkdir(sentinels, 0o777)
	name := sname("kw")
	clOK(t, e.home, "create", "--backend", "kubernetes", "--name", name, "--image", e.image, "--workdir", repo)
	e.waitRunning(t, name)
	if got := strings.TrimSpace(e.agentSh(t, name, "git rev-parse --abbrev-ref HEAD; cat README.md")); got != "clauderon/"+name+"\n# project" {
		t.Fatalf("the pod's workspace: %q", got)
	}
	// Unlanded work is not deleted without --discard.
	e.agentSh(t, name, `printf 'package main\n\nfunc main() { println("agent") }\n' > main.go
`+agentGit+` commit -q -am "agent change"
printf '# project\nagent notes\n' > README.md`)
	if _, errOut, code := cl(t, e.home, "rm", "--force", name); code == 0 || !strings.Contains(errOut, "never landed") {
		t.Errorf("rm of unlanded work: %d %s", code, errOut)
	}
	hostGit := filepath.Join(wsDir(e.home, name), ".git")
	var plant strings.Builder
	for _, k := range []string{"fsmonitor", "pager", "external", "clean", "textconv", "hook"} {
		plant.WriteString("printf '#!/bin/sh\\ntouch " + sentinels + "/" + k + "\\n' > .git/evil-" + k + ".sh; chmod +x .git/evil-" + k + ".sh\n")
	}
	plant.WriteString(`mkdir -p .git/hooks
for h in pre-commit post-commit post-checkout reference-transaction; do cp .git/evil-hook.sh .git/hooks/$h; done
git config core.fsmonitor ` + hostGit + `/evil-fsmonitor.sh
git config core.hooksPath ` + hostGit + `/hooks
git config core.pager ` + hostGit + `/evil-pager.sh
git config diff.external ` + hostGit + `/evil-external.sh
git config filter.evil.clean ` + hostGit + `/evil-clean.sh
git config diff.evil.textconv ` + hostGit + `/evil-textconv.sh
printf '* filter=evil diff=evil\n' > .gitattributes
ln -s /etc/passwd passwd-link
mkfifo fifo
`)
	e.agentSh(t, name, plant.String())
	d := diffJSON(t, e.home, name)
	paths := changedPaths(d)
	if paths["main.go"] != "modified" || paths["README.md"] != "modified" || paths[".gitattributes"] != "added" {
		t.Errorf("diff names %v", paths)
	}
	text := clOK(t, e.home, "diff", name)
	if !strings.Contains(text, `println("agent")`) || !strings.Contains(text, "agent notes") {
		t.Errorf("diff lacks the agent's work:\n%s", text)
	}
	if strings.Contains(text, "root:x:0:0") {
		t.Error("diff followed the agent's link to the host's /etc/passwd")
	}
	clOK(t, e.home, "land", name, "--tree", d.Tree)
	log := userGit(t, repo, "log", "-p", "clauderon/"+name)
	if !strings.Contains(log, `println("agent")`) || !strings.Contains(log, "agent change") {
		t.Errorf("the landed branch lacks the agent's work:\n%s", log)
	}
	if fi, err := os.Lstat(filepath.Join(wsDir(e.home, name), "passwd-link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the agent's link came back as %v %v, want a link", fi, err)
	}
	ents, _ := os.ReadDir(sentinels)
	for _, s := range ents {
		t.Errorf("the agent's %s ran on the host", s.Name())
	}
	// Stopped, its work is read from its volume by a pod of its own.
	clOK(t, e.home, "stop", name)
	if !strings.Contains(clOK(t, e.home, "diff", name), "agent notes") {
		t.Error("diff of a stopped session lacks its work")
	}
	clOK(t, e.home, "rm", "--discard", name)
	// Gone, or going once no pod uses it (pvc-protection).
	if pvc, err := e.cs.CoreV1().PersistentVolumeClaims(e.ns).Get(context.Background(), kubernetes.WorkspaceClaim(session.ContainerName(name)), metav1.GetOptions{}); err == nil && pvc.DeletionTimestamp == nil {
		t.Error("the workspace claim outlived rm")
	}
	e.assertNoCanaryInCluster(t)
}

// TestK8sRecovery: a running session on Kubernetes survives the daemon's
// SIGKILL (rebuilt from the pod's labels even without its state file, the
// tunnel back) and its gateway pod's deletion (a new one, found by the
// tunnel), and reaches the fake through the proxy after each; a blind
// tunnel to the host is refused by the gateway's own policy.
func TestK8sRecovery(t *testing.T) {
	e := newK8sEnv(t)
	name := sname("kr")
	clOK(t, e.home, "create", "--backend", "kubernetes", "--name", name, "--image", e.image, "--no-workdir")
	e.waitRunning(t, name)
	if code := e.proxyCode(t, name); code != "200" {
		t.Fatalf("through the proxy before anything: %q", code)
	}
	// A direct connection to the host's proxy, or to the API server, fails.
	for _, target := range []string{"192.0.2.2:16443", "10.96.0.1:443"} {
		if out, code := e.exec(t, name, "curl", "-sS", "-m", "5", "--noproxy", "*", "-k", "https://"+target+"/"); code == 0 {
			t.Errorf("the pod reached %s directly: %s", target, out)
		}
	}
	// Through the gateway, a blind tunnel to a private address is refused.
	if out, _ := e.exec(t, name, "curl", "-sS", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", "-k", "https://192.0.2.2:16443/"); !strings.Contains(out, "CONNECT tunnel failed, response 403") {
		t.Errorf("a tunnel through the gateway to the node's API server: %s; want the gateway's 403", out)
	}

	e.d.kill()
	if err := os.Remove(filepath.Join(e.home, "sessions", name, "session.json")); err != nil {
		t.Fatal(err)
	}
	e.d = startSessDaemon(t, e.home, 0)
	s, ok := findSession(listSessions(t, e.home), name)
	if !ok || s.Status != session.StatusRunning || !s.Rebuilt || s.Backend != api.BackendKubernetes {
		t.Fatalf("after the daemon's SIGKILL and its state's loss: %+v (listed %v)", s, ok)
	}
	waitFor(t, "the pod through the proxy after the restart", func() bool { return e.proxyCode(t, name) == "200" })

	ctx := context.Background()
	pods, err := e.cs.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.AppLabel + "=" + kubernetes.GatewayName})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("gateway pods: %v %v", pods, err)
	}
	old := pods.Items[0].Name
	if err := e.cs.CoreV1().Pods(e.ns).Delete(ctx, old, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pod through the proxy after the gateway pod's deletion", func() bool {
		p, err := e.cs.CoreV1().Pods(e.ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.AppLabel + "=" + kubernetes.GatewayName})
		if err != nil || len(p.Items) != 1 || p.Items[0].Name == old {
			return false
		}
		return e.proxyCode(t, name) == "200"
	})
	if s, _ := findSession(listSessions(t, e.home), name); s.Status != session.StatusRunning {
		t.Errorf("after the gateway's recovery: %+v", s)
	}
	e.assertNoCanaryInCluster(t)
}

// TestK8sScale: twenty print sessions at once on the one node all return
// the fake's answer and are listed.
func TestK8sScale(t *testing.T) {
	e := newK8sEnv(t)
	const n = 20
	errs := make(chan error, n)
	names := make([]string, n)
	for i := range n {
		names[i] = sname("ks" + strconv.Itoa(i))
		go func() {
			out, errOut, code := cl(t, e.home, "create", "--backend", "kubernetes", "--name", names[i], "--prompt", "hi", "--print", "--wait", "--image", e.image, "--no-workdir")
			if code != 0 || !strings.Contains(out, fakeanthropic.DefaultReply) {
				errs <- fmt.Errorf("%s: exit %d: %s %s", names[i], code, out, errOut)
				return
			}
			errs <- nil
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	l := listSessions(t, e.home)
	for _, nm := range names {
		if s, ok := findSession(l, nm); !ok || s.Status != session.StatusExited || s.Backend != api.BackendKubernetes {
			t.Errorf("%s: %+v (listed %v)", nm, s, ok)
		}
	}
}

// TestK8sUnreachable: with the cluster out of reach, the daemon starts,
// Docker sessions work, and the cluster's sessions are listed as unknown,
// not dropped or failed; once it answers again they are as it says.
func TestK8sUnreachable(t *testing.T) {
	e := newK8sEnv(t)
	image := testimage.Ensure(t)
	kname, dname := sname("ku"), sname("du")
	clOK(t, e.home, "create", "--backend", "kubernetes", "--name", kname, "--image", e.image, "--no-workdir")
	e.waitRunning(t, kname)
	e.d.stop()
	// A kubeconfig whose server nothing listens on.
	raw, err := os.ReadFile(e.kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	dead := filepath.Join(t.TempDir(), "dead.kubeconfig")
	os.WriteFile(dead, []byte(strings.ReplaceAll(string(raw), "https://127.0.0.1:16443", "https://127.0.0.1:1")), 0o600)
	if !strings.Contains(string(raw), "https://127.0.0.1:16443") {
		t.Fatalf("the test kubeconfig names another server:\n%s", raw)
	}
	setKubeconfig := func(p string) {
		var cfg map[string]any
		b, _ := os.ReadFile(filepath.Join(e.home, config.FileName))
		json.Unmarshal(b, &cfg)
		cfg["kubernetes"].(map[string]any)["kubeconfig"] = p
		b, _ = json.Marshal(cfg)
		os.WriteFile(filepath.Join(e.home, config.FileName), b, 0o600)
	}
	setKubeconfig(dead)
	e.d = startSessDaemon(t, e.home, 0)
	out := clOK(t, e.home, "create", "--name", dname, "--prompt", "hi", "--print", "--wait", "--image", image, "--no-workdir")
	if !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Errorf("a Docker session with the cluster down: %s", out)
	}
	s, ok := findSession(listSessions(t, e.home), kname)
	if !ok || s.Status != api.StatusUnknown || !strings.Contains(s.Warning, "cannot be reached") {
		t.Errorf("the cluster's session with it down: %+v (listed %v)", s, ok)
	}
	if l := clOK(t, e.home, "list"); !strings.Contains(l, "unknown") {
		t.Errorf("list with the cluster down:\n%s", l)
	}
	if _, errOut, code := cl(t, e.home, "create", "--backend", "kubernetes", "--name", sname("ku2"), "--image", e.image, "--no-workdir"); code == 0 || !strings.Contains(errOut, "127.0.0.1:1") {
		t.Errorf("create on the cluster with it down: %d %s", code, errOut)
	}
	e.d.stop()
	setKubeconfig(e.kubeconfig)
	e.d = startSessDaemon(t, e.home, 0)
	if s, _ := findSession(listSessions(t, e.home), kname); s.Status != session.StatusRunning {
		t.Errorf("the cluster's session once it answers: %+v", s)
	}
}
