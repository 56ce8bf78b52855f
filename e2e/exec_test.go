package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/testenv"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// auditLine is one line of audit.jsonl as the tests read it.
type auditLine struct {
	Time         string `json:"time"`
	Session      string `json:"session"`
	Host         string `json:"host"`
	Method       string `json:"method"`
	Path         string `json:"path"`
	Status       int    `json:"status"`
	AuthInjected bool   `json:"auth_injected"`
	Intercepted  bool   `json:"intercepted"`
	Error        string `json:"error"`
}

func readAudit(t testing.TB, home string) []auditLine {
	t.Helper()
	f, err := os.Open(filepath.Join(home, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []auditLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue // a line break the log added after an unfinished line
		}
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line %q: %v", sc.Text(), err)
		}
		out = append(out, l)
	}
	return out
}

func runClauderon(t testing.TB, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running clauderon %v: %v", args, err)
	}
	return o.String(), e.String(), code
}

// TestExecClaude runs the real Claude Code on the host through `clauderon
// exec`: it must print the fake upstream's reply while only ever holding the
// placeholder, and the upstream must receive the real token.
func TestExecClaude(t *testing.T) {
	claude := claudeBinary(t)
	home, fake := fakeHome(t)
	env := baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1")
	out, errOut, code := runClauderon(t, env, "", "exec", "--", claude, "--print", "say hello")
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Fatalf("stdout = %q, want the fake upstream's reply", out)
	}
	msgs := fake.MessageRequests()
	if len(msgs) == 0 {
		t.Fatal("the fake upstream saw no /v1/messages request")
	}
	for _, r := range msgs {
		if r.Authorization != "Bearer "+Canary {
			t.Errorf("upstream got Authorization %q, want the real token as Bearer", r.Authorization)
		}
		if r.ProxyAuth != "" {
			t.Errorf("Proxy-Authorization reached the upstream")
		}
		if !strings.Contains(r.Beta, "oauth-2025-04-20") {
			t.Errorf("anthropic-beta %q lacks oauth-2025-04-20", r.Beta)
		}
	}
	var injected bool
	for _, l := range readAudit(t, home) {
		if strings.HasPrefix(l.Session, "exec-") && l.Path == "/v1/messages" && l.AuthInjected && l.Intercepted && l.Status == 200 {
			injected = true
		}
	}
	if !injected {
		t.Errorf("no audit line records the injected /v1/messages request under an exec- session")
	}
	assertNoCanary(t, "stdout", out, Canary)
	assertNoCanary(t, "stderr", errOut, Canary)
	assertNoCanaryUnder(t, home, Canary)
}

// TestExecEnvironment checks what the child sees, with `env` as the child.
func TestExecEnvironment(t *testing.T) {
	home, _ := fakeHome(t)
	env := baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary, "ANTHROPIC_API_KEY=sk-ant-api03-CANARY-e2e")
	out, errOut, code := runClauderon(t, env, "", "exec", "--", "env")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	got := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			got[k] = v
		}
	}
	if got["CLAUDE_CODE_OAUTH_TOKEN"] != "sk-ant-oat01-clauderon-proxy-placeholder" {
		t.Errorf("CLAUDE_CODE_OAUTH_TOKEN = %q, want the placeholder", got["CLAUDE_CODE_OAUTH_TOKEN"])
	}
	if _, ok := got["ANTHROPIC_API_KEY"]; ok {
		t.Error("ANTHROPIC_API_KEY reached the child")
	}
	if !strings.HasPrefix(got["HTTPS_PROXY"], "http://exec-") || !strings.Contains(got["HTTPS_PROXY"], "@127.0.0.1:") {
		t.Errorf("HTTPS_PROXY = %q", got["HTTPS_PROXY"])
	}
	if got["HTTP_PROXY"] != got["HTTPS_PROXY"] {
		t.Errorf("HTTP_PROXY = %q, want HTTPS_PROXY's value", got["HTTP_PROXY"])
	}
	if !strings.Contains(got["NO_PROXY"], "127.0.0.1") || !strings.Contains(got["NO_PROXY"], "localhost") {
		t.Errorf("NO_PROXY = %q", got["NO_PROXY"])
	}
	if got["NODE_EXTRA_CA_CERTS"] != filepath.Join(home, "proxy-ca.pem") {
		t.Errorf("NODE_EXTRA_CA_CERTS = %q", got["NODE_EXTRA_CA_CERTS"])
	}
	for _, k := range []string{"SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO"} {
		b, err := os.ReadFile(got[k])
		if err != nil {
			t.Errorf("%s = %q: %v", k, got[k], err)
			continue
		}
		ca, _ := os.ReadFile(filepath.Join(home, "proxy-ca.pem"))
		if !bytes.Contains(b, bytes.TrimSpace(ca)) || bytes.Count(b, []byte("BEGIN CERTIFICATE")) < 2 {
			t.Errorf("%s does not hold the system roots plus clauderon's CA", k)
		}
	}
	assertNoCanary(t, "the child's environment", out, Canary)
	assertNoCanary(t, "the child's environment", out, "sk-ant-api03-CANARY-e2e")
}

// TestExecCurl sends curl through exec: it trusts the bundle and the proxy
// injects the token on the intercepted host.
func TestExecCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		testenv.Unavailable(t, "curl is not installed: %v", err)
	}
	home, fake := fakeHome(t)
	env := baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary)
	out, errOut, code := runClauderon(t, env, "", "exec", "--", "curl", "-sS", "--fail",
		"-H", "Authorization: Bearer sk-ant-oat01-clauderon-proxy-placeholder",
		"https://api.anthropic.com/v1/messages/count_tokens?secret=query")
	if code != 0 {
		t.Fatalf("curl through exec: exit %d: %s %s", code, out, errOut)
	}
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Authorization != "Bearer "+Canary {
		t.Fatalf("upstream saw %+v, want one request with the real token", reqs)
	}
	for _, l := range readAudit(t, home) {
		if strings.Contains(l.Path, "?") || strings.Contains(l.Path, "secret=query") {
			t.Errorf("audit path %q keeps the query string", l.Path)
		}
	}
	assertNoCanary(t, "curl's output", out, Canary)
}

// TestExecPassThrough: stdin, the exit code and signals reach the child.
func TestExecPassThrough(t *testing.T) {
	home, _ := fakeHome(t)
	env := baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary)

	out, _, code := runClauderon(t, env, "through stdin\n", "exec", "--", "cat")
	if code != 0 || out != "through stdin\n" {
		t.Errorf("cat through exec: exit %d, stdout %q", code, out)
	}
	if _, _, code := runClauderon(t, env, "", "exec", "--", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exit code = %d, want 7", code)
	}
	if _, errOut, code := runClauderon(t, env, "", "exec", "--", "no-such-command-xyz"); code != 127 || !strings.Contains(errOut, "no-such-command-xyz") {
		t.Errorf("missing command: exit %d, stderr %q", code, errOut)
	}
	notExec := filepath.Join(t.TempDir(), "not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runClauderon(t, env, "", "exec", "--", notExec); code != 126 {
		t.Errorf("a file that is not executable: exit %d (%q), want 126", code, errOut)
	}
	if _, errOut, code := runClauderon(t, env, "", "exec"); code == 0 || !strings.Contains(errOut, "needs a command") {
		t.Errorf("no command: exit %d, stderr %q", code, errOut)
	}

	// SIGTERM to clauderon reaches the child, which reports it and exits 3.
	cmd := exec.Command(binary, "exec", "--", "sh", "-c", `trap 'echo got-term; exit 3' TERM; echo ready; while :; do sleep 0.05; done`)
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("child did not start: %q", sc.Text())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatal("clauderon exec did not end after SIGTERM")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || strings.Join(rest, ",") != "got-term" {
		t.Errorf("after SIGTERM: err %v, child printed %q; want exit 3 and got-term", err, rest)
	}
}

// TestExecHidesItsMemory runs a command that reads clauderon's own
// environment through /proc, where the real token given in it stays even
// after clauderon drops it from the command's. It must be refused. Root may
// read any process's /proc files, so under root clauderon runs as nobody.
func TestExecHidesItsMemory(t *testing.T) {
	bin, home := binary, t.TempDir()
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		const nobody = 65534
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		bin = filepath.Join(dir, "clauderon")
		b, err := os.ReadFile(binary)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, nobody, nobody); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Dir(home), 0o755); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: nobody, Gid: nobody}
	}
	cmd := exec.Command(bin, "exec", "--", "sh", "-c", `cat /proc/$PPID/environ; echo " exit=$?"`)
	cmd.Env = baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("clauderon exec: %v\n%s", err, errOut.String())
	}
	if strings.Contains(out.String(), Canary) {
		t.Fatal("the command read the real token from clauderon's /proc/PID/environ")
	}
	if !strings.Contains(out.String(), "exit=1") || !strings.Contains(errOut.String(), "Permission denied") {
		t.Fatalf("reading /proc/$PPID/environ was not refused: stdout %q, stderr %q", out.String(), errOut.String())
	}
}
