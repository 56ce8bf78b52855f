package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testimage"
	"github.com/clauderon/clauderon/session"
)

// sessionEnv is a daemon on a home whose proxy sends api.anthropic.com to a
// fake, with the test image ready.
type sessionEnv struct {
	home  string
	fake  *fakeanthropic.Server
	image string
	d     *sessDaemon
}

func newSessionEnv(t *testing.T) *sessionEnv {
	t.Helper()
	return newSessionEnvAt(t, func(t *testing.T) (string, *fakeanthropic.Server, int) {
		home, fake := fakeHome(t)
		return home, fake, 0
	})
}

// newSessionEnvAt is newSessionEnv with a home made by mk.
func newSessionEnvAt(t *testing.T, mk func(*testing.T) (string, *fakeanthropic.Server, int)) *sessionEnv {
	t.Helper()
	requireDocker(t)
	image := testimage.Ensure(t)
	home, fake, _ := mk(t)
	d := startSessDaemon(t, home, 0)
	return &sessionEnv{home: home, fake: fake, image: image, d: d}
}

// TestSessionPrint is the vertical slice: `create --print --wait` runs the
// real Claude Code in a real container, which gets the fake's reply through
// the proxy; the fake saw the real (canary) token; the audit log shows the
// injection under the session's name; and the canary is nowhere else.
func TestSessionPrint(t *testing.T) {
	e := newSessionEnv(t)
	wd := workdir(t)
	p1 := sname("p1")
	out := clOK(t, e.home, "create", "--name", p1, "--prompt", "say hello", "--print", "--wait", "--image", e.image, "--workdir", wd)
	if !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Fatalf("create --wait printed %q, want the fake's reply %q", out, fakeanthropic.DefaultReply)
	}
	msgs := e.fake.MessageRequests()
	if len(msgs) == 0 {
		t.Fatal("the fake upstream received no /v1/messages request")
	}
	for _, r := range msgs {
		if r.Authorization != "Bearer "+Canary {
			t.Errorf("the fake received Authorization %q, want the canary as Bearer", r.Authorization)
		}
		if r.ProxyAuth != "" {
			t.Errorf("the fake received a Proxy-Authorization header")
		}
	}
	injected := false
	for _, l := range readAudit(t, e.home) {
		if l.Session == p1 && l.AuthInjected {
			injected = true
		}
	}
	if !injected {
		t.Error("the audit log has no auth_injected line for session p1")
	}

	s, ok := findSession(listSessions(t, e.home), p1)
	switch {
	case !ok:
		t.Fatal("p1 is not listed")
	case s.Status != session.StatusExited || s.ExitCode == nil || *s.ExitCode != 0:
		t.Errorf("p1: status %s exit %v, want exited 0", s.Status, s.ExitCode)
	case s.Result == nil || s.Result.Text != fakeanthropic.DefaultReply || s.Result.NumTurns < 1:
		t.Errorf("p1 result = %+v", s.Result)
	}
	human := clOK(t, e.home, "list")
	if !strings.Contains(human, p1) || !strings.Contains(human, "exited (0)") {
		t.Errorf("list:\n%s", human)
	}

	// A further turn, in the same container, resuming the conversation.
	before := len(e.fake.MessageRequests())
	more := clOK(t, e.home, "continue", p1, "say it again", "--wait")
	if !strings.Contains(more, fakeanthropic.DefaultReply) {
		t.Errorf("continue --wait printed %q, want the fake's reply", more)
	}
	resumed := false
	for _, r := range e.fake.MessageRequests()[before:] {
		resumed = resumed || (strings.Contains(string(r.Body), "say it again") && strings.Contains(string(r.Body), "say hello"))
	}
	if !resumed {
		t.Error("the further turn's request does not carry the first turn's prompt: the conversation was not kept")
	}
	if s, _ := findSession(listSessions(t, e.home), p1); s.Turns != 2 || s.ContainerID == "" || s.Result == nil {
		t.Errorf("after continue: turns %d, result %+v", s.Turns, s.Result)
	}
	if _, errOut, code := cl(t, e.home, "continue", p1, ""); code == 0 || !strings.Contains(errOut, "prompt is empty") {
		t.Errorf("continue with an empty prompt: code %d, %s", code, errOut)
	}

	// Leaks: the canary is nowhere but in the fake's records.
	logs := clOK(t, e.home, "logs", "--raw", p1)
	if n := strings.Count(logs, `"type":"result"`); n != 2 {
		t.Errorf("logs hold %d results, want one per turn", n)
	}
	if !strings.Contains(logs, `"type":"result"`) {
		t.Errorf("logs lack the stream-json result: %.500s", logs)
	}
	assertNoCanary(t, "the session's logs", logs, Canary)
	inspect, err := dockerCLI(t, "inspect", session.ContainerName(p1))
	if err != nil {
		t.Fatalf("docker inspect: %v\n%s", err, inspect)
	}
	assertNoCanary(t, "docker inspect", inspect, Canary)
	if !strings.Contains(inspect, "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-clauderon-proxy-placeholder") {
		t.Error("the container lacks the placeholder token")
	}
	assertNoCanaryInContainer(t, session.ContainerName(p1))
	assertNoCanaryUnder(t, e.home, Canary)
	assertNoCanaryUnder(t, wd, Canary)
	assertNoCanary(t, "the daemon's log", e.d.logs.String(), Canary)

	// rm removes the container and the session.
	clOK(t, e.home, "rm", p1)
	if _, ok := findSession(listSessions(t, e.home), p1); ok {
		t.Error("p1 is still listed after rm")
	}
	if out, err := dockerCLI(t, "inspect", session.ContainerName(p1)); err == nil {
		t.Errorf("the container survived rm: %.200s", out)
	}
}

// assertNoCanaryInContainer checks every file the container changed or
// added (the image itself was built before the canary existed).
func assertNoCanaryInContainer(t *testing.T, name string) {
	t.Helper()
	diff, err := dockerCLI(t, "diff", name)
	if err != nil {
		t.Fatalf("docker diff: %v\n%s", err, diff)
	}
	dir := t.TempDir()
	for _, line := range strings.Split(strings.TrimSpace(diff), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 || f[0] == "D" {
			continue
		}
		dst := filepath.Join(dir, strings.ReplaceAll(strings.TrimPrefix(f[1], "/"), "/", "_"))
		if out, err := dockerCLI(t, "cp", "-L", name+":"+f[1], dst); err != nil {
			t.Errorf("docker cp %s, so it is not checked: %v %s", f[1], err, out)
		}
	}
	assertNoCanaryUnder(t, dir, Canary)
}

// proxyURLOf reads a container's HTTPS_PROXY from the engine.
func proxyURLOf(t *testing.T, container string) *url.URL {
	t.Helper()
	out, err := dockerCLI(t, "inspect", "--format", "{{json .Config.Env}}", container)
	if err != nil {
		t.Fatalf("docker inspect: %v %s", err, out)
	}
	var env []string
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatal(err)
	}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "HTTPS_PROXY="); ok {
			u, err := url.Parse(v)
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
	}
	t.Fatalf("%s has no HTTPS_PROXY", container)
	return nil
}

// viaProxy sends GET https://api.anthropic.com/echo/x from the host through
// the daemon's proxy as user:pass and returns the status, or the error.
func viaProxy(t *testing.T, home string, port int, user, pass string) (int, error) {
	t.Helper()
	code, _, err := proxyEcho(t, home, port, user, pass)
	return code, err
}

// proxyEcho is viaProxy that also returns the body. It goes where the
// session's container would: through session user's socket while that
// exists, else to the proxy's TCP port.
func proxyEcho(t *testing.T, home string, port int, user, pass string) (int, string, error) {
	t.Helper()
	return proxyEchoVia(t, home, port, user, pass, false)
}

// proxyEchoVia is proxyEcho; tcpOnly sends the request to the TCP port
// even when the session has a socket.
func proxyEchoVia(t *testing.T, home string, port int, user, pass string, tcpOnly bool) (int, string, error) {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(home, "proxy-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	pu := &url.URL{Scheme: "http", User: url.UserPassword(user, pass), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	tr := &http.Transport{Proxy: http.ProxyURL(pu), TLSClientConfig: &tls.Config{RootCAs: roots}}
	if _, err := os.Stat(filepath.Join(home, "sandbox", user)); err == nil && !tcpOnly {
		tr.DialContext = func(context.Context, string, string) (net.Conn, error) { return dialSessionSocket(home, user) }
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Get("https://api.anthropic.com/echo/x")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// TestSessionIsolation: a session's credential works for its own name only,
// and stops working the moment the session is removed.
func TestSessionIsolation(t *testing.T) {
	e := newSessionEnv(t)
	isoA, isoB := sname("iso-a"), sname("iso-b")
	for _, n := range []string{isoA, isoB} {
		clOK(t, e.home, "create", "--name", n, "--image", e.image, "--no-workdir")
	}
	a := proxyURLOf(t, session.ContainerName(isoA))
	b := proxyURLOf(t, session.ContainerName(isoB))
	if a.Host != gateway.ListenAddr || a.User.Username() != isoA {
		t.Fatalf("HTTPS_PROXY of iso-a is %s", a.Redacted())
	}
	pa, _ := a.User.Password()
	pb, _ := b.User.Password()
	if pa == "" || pa == pb {
		t.Fatal("sessions must have distinct, non-empty proxy secrets")
	}
	if code, err := viaProxy(t, e.home, e.d.port, isoA, pa); err != nil || code != 200 {
		t.Fatalf("iso-a's own credential: status %d, err %v", code, err)
	}
	if _, err := viaProxy(t, e.home, e.d.port, isoB, pa); err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Errorf("iso-a's secret under iso-b's name: err %v, want 407", err)
	}
	if _, err := viaProxy(t, e.home, e.d.port, isoA, pb); err == nil {
		t.Error("iso-b's secret under iso-a's name was accepted")
	}
	clOK(t, e.home, "rm", "--force", isoA)
	if _, err := viaProxy(t, e.home, e.d.port, isoA, pa); err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Errorf("iso-a's credential after rm: err %v, want 407", err)
	}
	if code, err := viaProxy(t, e.home, e.d.port, isoB, pb); err != nil || code != 200 {
		t.Errorf("iso-b after iso-a's rm: status %d, err %v", code, err)
	}
}

// TestSessionDaemonCrash SIGKILLs the daemon with one interactive session
// running and one print session in flight, restarts it, and finds both,
// with the running container still working through the restarted proxy.
func TestSessionDaemonCrash(t *testing.T) {
	e := newSessionEnv(t)
	live, once := sname("live"), sname("once")
	clOK(t, e.home, "create", "--name", live, "--image", e.image, "--no-workdir")
	clOK(t, e.home, "create", "--name", once, "--print", "--prompt", "hi", "--image", e.image, "--no-workdir")
	e.d.kill()
	if _, err := os.Stat(filepath.Join(e.home, client.SocketFile)); err != nil {
		t.Fatalf("expected a stale socket after SIGKILL: %v", err)
	}
	_, errOut, code := cl(t, e.home, "list")
	if code == 0 || !strings.Contains(errOut, "cannot reach the clauderon daemon at") || !strings.Contains(errOut, "clauderon daemon`") {
		t.Errorf("list with the daemon down: exit %d, stderr %q", code, errOut)
	}

	// Restarted on another port: the running container's HTTPS_PROXY still
	// names the old one, which the daemon serves too.
	d2 := startSessDaemon(t, e.home, 0)
	c := d2.client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	os1, err := c.Wait(ctx, once)
	if err != nil {
		t.Fatal(err)
	}
	if os1.Status != session.StatusExited || os1.Result == nil || os1.Result.Text != fakeanthropic.DefaultReply {
		t.Errorf("once after the crash: %+v result %+v", os1, os1.Result)
	}
	ls, err := c.Get(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	if ls.Status != session.StatusRunning || !ls.Gateway || ls.Warning != "" {
		t.Errorf("live after the crash: status %s (%s), gateway %v, warning %q", ls.Status, ls.Reason, ls.Gateway, ls.Warning)
	}
	// The running container reaches the restarted proxy with its old credential.
	out, err := dockerCLI(t, "exec", session.ContainerName(live), "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "https://api.anthropic.com/echo/x")
	if err != nil || strings.TrimSpace(out) != "200" {
		t.Errorf("curl from the running container after the restart: %v %q", err, out)
	}
	u := proxyURLOf(t, session.ContainerName(live))
	pass, _ := u.User.Password()
	if code, err := viaProxy(t, e.home, d2.port, live, pass); err != nil || code != 200 {
		t.Errorf("live's credential after the restart, through its socket: %d %v", code, err)
	}

	// A second daemon on the same home refuses to start and names the first.
	_, errOut, code = cl(t, e.home, "daemon", "--proxy-port", "0")
	if code == 0 || !strings.Contains(errOut, "already running") || !strings.Contains(errOut, fmt.Sprintf("pid %d", d2.cmd.Process.Pid)) {
		t.Errorf("second daemon: exit %d, stderr %q", code, errOut)
	}
}

// TestSessionRebuildFromLabels: with its state file gone, a session whose
// container exists is rebuilt from the container's labels, credential included.
func TestSessionRebuildFromLabels(t *testing.T) {
	e := newSessionEnv(t)
	lbl := sname("lbl")
	clOK(t, e.home, "create", "--name", lbl, "--image", e.image, "--no-workdir")
	e.d.kill()
	if err := os.Remove(filepath.Join(e.home, "sessions", lbl, "session.json")); err != nil {
		t.Fatal(err)
	}
	d2 := startSessDaemon(t, e.home, e.d.port)
	s, ok := findSession(listSessions(t, e.home), lbl)
	if !ok || s.Status != session.StatusRunning || !s.Rebuilt || s.StartedAt.IsZero() {
		t.Fatalf("lbl after losing its state: %+v (listed %v)", s, ok)
	}
	u := proxyURLOf(t, session.ContainerName(lbl))
	pass, _ := u.User.Password()
	if code, err := viaProxy(t, e.home, d2.port, lbl, pass); err != nil || code != 200 {
		t.Errorf("lbl's credential after the rebuild: %d %v", code, err)
	}
}

// TestSessionInteractive attaches through a pty and sees Claude Code's TUI,
// then detaches with ctrl-p ctrl-q, leaving the session running.
var ansiRE = regexp.MustCompile(`\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\a\x1b]*(\a|\x1b\\)|[@-Z\\-_])`)

// screenText is what a terminal stream says, without escape sequences or
// white space.
func screenText(raw string) string {
	return strings.Join(strings.Fields(ansiRE.ReplaceAllString(raw, "")), "")
}

func TestSessionInteractive(t *testing.T) {
	e := newSessionEnv(t)
	tui := sname("tui")
	clOK(t, e.home, "create", "--name", tui, "--prompt", "say hello", "--image", e.image, "--workdir", workdir(t))
	cmd := execClauderon(e.home, "attach", tui)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	var mu sync.Mutex
	var screen strings.Builder
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	seen := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(screen.String(), s)
	}
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("what the terminal received: %q", screen.String())
			mu.Unlock()
		}
	})
	waitFor(t, "the detach hint", func() bool { return seen("ctrl-p ctrl-q") })
	// No first-run dialog stands between the session and its prompt: the
	// TUI shows the fake upstream's answer by itself.
	// The TUI places words with cursor moves, so compare the text with the
	// escape sequences and spaces taken out.
	waitFor(t, "the answer in Claude Code's TUI", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(screenText(screen.String()), "fakeAnthropicupstream")
	})
	for _, dialog := range []string{"trust this folder", "Bypass Permissions mode", "Yes, I accept"} {
		if seen(dialog) {
			t.Errorf("the TUI showed a first-run dialog (%q)", dialog)
		}
	}
	if _, err := ptmx.Write([]byte{0x10, 0x11}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the detach message", func() bool { return seen("detached from " + tui) })
	if err := cmd.Wait(); err != nil {
		t.Errorf("attach after detaching: %v", err)
	}
	s, ok := findSession(listSessions(t, e.home), tui)
	if !ok || s.Status != session.StatusRunning {
		t.Errorf("tui after detaching: %+v", s)
	}
	// Resize goes through the LocalAPI to the engine, and the container's
	// terminal takes the size.
	if err := e.d.client().Resize(context.Background(), tui, 30, 100); err != nil {
		t.Errorf("resize: %v", err)
	}
	if out, err := dockerCLI(t, "exec", session.ContainerName(tui), "stty", "-F", "/dev/console", "size"); err != nil || strings.TrimSpace(out) != "30 100" {
		t.Errorf("the container's terminal after the resize: %q %v", out, err)
	}
	// Attach refuses unknown names clearly.
	_, errOut, code := cl(t, e.home, "attach", "nope")
	if code == 0 || !strings.Contains(errOut, `no session named "nope"`) {
		t.Errorf("attach nope: %d %q", code, errOut)
	}
}

// TestSessionScale runs ten print sessions at once.
func TestSessionScale(t *testing.T) {
	e := newSessionEnv(t)
	const n = 10
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, errOut, code := cl(t, e.home, "create", "--name", sname(fmt.Sprintf("scale-%d", i)), "--print", "--wait",
				"--prompt", fmt.Sprintf("hello %d", i), "--image", e.image, "--no-workdir")
			if code != 0 || !strings.Contains(out, fakeanthropic.DefaultReply) {
				errs[i] = fmt.Sprintf("exit %d, stdout %q, stderr %q", code, out, errOut)
			}
		}()
	}
	wg.Wait()
	for i, e := range errs {
		if e != "" {
			t.Errorf("scale-%d: %s", i, e)
		}
	}
	l := listSessions(t, e.home)
	for i := range n {
		s, ok := findSession(l, sname(fmt.Sprintf("scale-%d", i)))
		if !ok || s.Status != session.StatusExited || s.Result == nil {
			t.Errorf("scale-%d: listed %v, %+v", i, ok, s)
		}
	}
}

// TestSessionBadInput: every bad input gets a clear error and leaves no
// container and no session behind.
func TestSessionBadInput(t *testing.T) {
	e := newSessionEnv(t)
	dup := sname("dup")
	clOK(t, e.home, "create", "--name", dup, "--image", e.image, "--no-workdir")
	big := strings.Repeat("a", session.MaxPromptBytes+1)
	tests := []struct {
		name    string
		session string // name whose container must not exist
		args    []string
		want    string
	}{
		{"upper case", "", []string{"--name", "Bad"}, `session name "Bad" is not valid`},
		{"leading dash", "", []string{"--name=-x"}, "is not valid"},
		{"too long", "", []string{"--name", strings.Repeat("a", 41)}, "is not valid"},
		{"underscore", "", []string{"--name", "a_b"}, "is not valid"},
		{"empty", "", []string{"--name", ""}, "session name is required"},
		{"duplicate", "", []string{"--name", dup, "--image", e.image}, `a session named "` + dup + `" already exists`},
		{"missing image", sname("noimg"), []string{"--name", sname("noimg"), "--image", "clauderon-missing:nope", "--no-workdir"}, "clauderon image build"},
		{"missing workdir", sname("nowd"), []string{"--name", sname("nowd"), "--image", e.image, "--workdir", "/nonexistent/dir"}, "workdir /nonexistent/dir does not exist"},
		{"print without prompt", sname("noprompt"), []string{"--name", sname("noprompt"), "--print", "--image", e.image, "--no-workdir"}, "needs a prompt"},
		// Workdirs that would hand the container the host's secrets.
		{"workdir is the home", sname("home"), []string{"--name", sname("home"), "--image", e.image, "--workdir", e.home}, "is your home directory"},
		{"workdir is /", sname("home"), []string{"--name", sname("home"), "--image", e.image, "--workdir", "/"}, "whole host filesystem"},
		{"workdir holds the Docker socket", sname("home"), []string{"--name", sname("home"), "--image", e.image, "--workdir", "/var/run"}, "contains the Docker socket"},
		{"workdir is /proc", sname("home"), []string{"--name", sname("home"), "--image", e.image, "--workdir", "/proc"}, "pick a project directory"},
		{"prompt with a terminal escape", sname("esc"), []string{"--name", sname("esc"), "--prompt", "hi\x1b]0;PWNED\a", "--image", e.image, "--no-workdir"}, "control character U+001B"},
		{"prompt too large", sname("bigprompt"), []string{"--name", sname("bigprompt"), "--prompt", big, "--image", e.image, "--no-workdir"}, "fits on a command line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := cl(t, e.home, append([]string{"create"}, tc.args...)...)
			if code == 0 || !strings.Contains(errOut, tc.want) {
				t.Errorf("exit %d, stderr %q; want an error containing %q", code, errOut, tc.want)
			}
			if tc.session != "" {
				if out, err := dockerCLI(t, "inspect", session.ContainerName(tc.session)); err == nil {
					t.Errorf("a container was left behind: %.200s", out)
				}
				if _, ok := findSession(listSessions(t, e.home), tc.session); ok {
					t.Errorf("session %s was left behind", tc.session)
				}
				if _, err := os.Stat(filepath.Join(e.home, "sessions", tc.session)); err == nil {
					t.Errorf("state of %s was left behind", tc.session)
				}
			}
		})
	}
	t.Run("default workdir is the home", func(t *testing.T) {
		cmd := execClauderon(e.home, "create", "--name", sname("home"), "--image", e.image)
		cmd.Dir = e.home // HOME is the home in these tests
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "run it from a project directory or pass --workdir DIR or --no-workdir") {
			t.Errorf("create from the home directory: %v %s", err, out)
		}
	})
	t.Run("rm running without force", func(t *testing.T) {
		_, errOut, code := cl(t, e.home, "rm", dup)
		if code == 0 || !strings.Contains(errOut, "--force") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
	t.Run("browser requests refused", func(t *testing.T) {
		conn, err := net.Dial("unix", filepath.Join(e.home, client.SocketFile))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET /api/v0/sessions HTTP/1.1\r\nHost: localhost\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(conn)
		if !strings.HasPrefix(string(b), "HTTP/1.1 403") || !strings.Contains(string(b), `"error":`) || !strings.Contains(string(b), `"code":"browser"`) {
			t.Errorf("answer to a request with Origin: %q", b)
		}
	})
}

// TestSessionEngineUnreachable: with no engine, create fails clearly.
func TestSessionEngineUnreachable(t *testing.T) {
	requireDocker(t)
	home, _ := fakeHome(t)
	startSessDaemon(t, home, 0, "DOCKER_HOST=unix:///nonexistent/docker.sock")
	_, errOut, code := cl(t, home, "create", "--name", sname("x"), "--prompt", "hi", "--print", "--no-workdir")
	if code == 0 || !strings.Contains(errOut, "cannot reach the Docker engine") {
		t.Errorf("create without an engine: exit %d, stderr %q", code, errOut)
	}
	out, _, _ := cl(t, home, "doctor")
	if !strings.Contains(out, "FAIL  engine") || !strings.Contains(out, "fix:") {
		t.Errorf("doctor without an engine:\n%s", out)
	}
}

// TestSessionDoctor checks the proxy from inside a real container.
func TestSessionDoctor(t *testing.T) {
	e := newSessionEnv(t)
	out, errOut, code := cl(t, e.home, "doctor", "--image", e.image)
	if code != 0 {
		t.Fatalf("doctor: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"ok    engine", "ok    credential", "ok    ca", "ok    network      containers have no network but their gateway", "ok    image", "ok    proxy"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor lacks %q:\n%s", want, out)
		}
	}
	var rep api.Doctor
	if err := json.Unmarshal([]byte(clOK(t, e.home, "doctor", "--image", e.image, "--json")), &rep); err != nil || !rep.OK {
		t.Errorf("doctor --json: %+v %v", rep, err)
	}
}

func execClauderon(home string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	cmd.Env = append(baseEnv(home), "TERM=xterm-256color")
	return cmd
}

// TestSessionGracefulShutdown: SIGTERM drains (a `logs -f` stream ends, the
// daemon exits cleanly), the container keeps running, and a new daemon
// lists the session as running.
func TestSessionGracefulShutdown(t *testing.T) {
	e := newSessionEnv(t)
	drain := sname("drain")
	clOK(t, e.home, "create", "--name", drain, "--image", e.image, "--no-workdir")
	follow := execClauderon(e.home, "logs", "-f", drain)
	var followErr, followOut syncbuf.Buffer
	follow.Stderr, follow.Stdout = &followErr, &followOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	// The stream is up once the TUI's output arrives through it.
	waitFor(t, "logs -f to stream", func() bool { return followOut.String() != "" })
	followDone := make(chan error, 1)
	go func() { followDone <- follow.Wait() }()
	e.d.stop()
	if e.d.err != nil {
		t.Errorf("daemon exit after SIGTERM: %v", e.d.err)
	}
	if err := <-followDone; err != nil {
		t.Errorf("logs -f after the daemon drained: %v: %s", err, followErr.String())
	}
	if _, err := os.Stat(filepath.Join(e.home, client.SocketFile)); !os.IsNotExist(err) {
		t.Errorf("socket left after a clean shutdown: %v", err)
	}
	out, err := dockerCLI(t, "inspect", "--format", "{{.State.Running}}", session.ContainerName(drain))
	if err != nil || strings.TrimSpace(out) != "true" {
		t.Errorf("container after the daemon stopped: running=%q %v", out, err)
	}
	startSessDaemon(t, e.home, e.d.port)
	if s, ok := findSession(listSessions(t, e.home), drain); !ok || s.Status != session.StatusRunning {
		t.Errorf("drain after restart: %+v", s)
	}
}

// TestSessionImageBuild builds the agent image through the daemon (the CLI
// never talks to the engine) with the same inputs as the test image, so the
// engine's cache makes it quick, and checks the progress stream and errors.
func TestSessionImageBuild(t *testing.T) {
	e := newSessionEnv(t)
	claude, err := filepath.EvalSymlinks(testimage.ClaudePath())
	if err != nil {
		t.Fatal(err)
	}
	const tag = "clauderon-e2e-agent:test"
	t.Cleanup(func() { dockerCLI(t, "rmi", tag) })
	out, errOut, code := cl(t, e.home, "image", "build", "--tag", tag, "--base-image", testimage.BaseImage, "--claude-binary", claude)
	if code != 0 || !strings.Contains(errOut, "built "+tag) || !strings.Contains(errOut, "Step ") {
		t.Fatalf("image build: exit %d\nstdout %s\nstderr %s", code, out, errOut)
	}
	if out, err := dockerCLI(t, "image", "inspect", tag); err != nil {
		t.Fatalf("the built image is missing: %v %.300s", err, out)
	}
	_, errOut, code = cl(t, e.home, "image", "build", "--tag", tag, "--claude-binary", "/nonexistent/claude")
	if code == 0 || !strings.Contains(errOut, "claude binary") {
		t.Errorf("build with a missing binary: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = cl(t, e.home, "image", "build", "--tag", "Bad Tag")
	if code == 0 || !strings.Contains(errOut, "not a valid image reference") {
		t.Errorf("build with a bad tag: exit %d, stderr %q", code, errOut)
	}
}

// TestSessionGatewayLater starts the daemon while its engine socket does
// not exist yet: create is refused, then once a forwarder to the real
// engine appears at that path the daemon learns the bridge gateway, binds
// the proxy there by itself, and a print session works.
func TestSessionGatewayLater(t *testing.T) {
	requireDocker(t)
	image := testimage.Ensure(t)
	home, _ := fakeHome(t)
	sock := filepath.Join(t.TempDir(), "engine.sock")
	d := startSessDaemon(t, home, 0, "DOCKER_HOST=unix://"+sock)
	gw := sname("gw")
	_, errOut, code := cl(t, home, "create", "--name", gw, "--print", "--prompt", "hi", "--image", image, "--no-workdir")
	if code == 0 || !strings.Contains(errOut, "cannot reach the Docker engine") {
		t.Fatalf("create before the engine is there: exit %d, stderr %q", code, errOut)
	}
	forwardUnix(t, sock, realEngineSocket())
	waitFor(t, "the proxy on the bridge gateway", func() bool {
		st, err := d.client().Status(context.Background())
		return err == nil && len(st.ProxyAddrs) == 2
	})
	out := clOK(t, home, "create", "--name", gw, "--print", "--wait", "--prompt", "say hello", "--image", image, "--no-workdir")
	if !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Errorf("create --wait once the engine is there printed %q", out)
	}
}

// realEngineSocket is the unix socket of the engine the tests use.
func realEngineSocket() string {
	if u, err := url.Parse(os.Getenv("DOCKER_HOST")); err == nil && u.Scheme == "unix" {
		return u.Path
	}
	return "/var/run/docker.sock"
}

// forwardUnix serves path, copying every connection to and from target,
// until the test ends.
func forwardUnix(t *testing.T, path, target string) {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("unix", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			go func() { io.Copy(u, c); u.(*net.UnixConn).CloseWrite() }()
			go func() { io.Copy(c, u); c.(*net.UnixConn).CloseWrite() }()
		}
	}()
}
