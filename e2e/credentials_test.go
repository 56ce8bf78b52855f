package e2e

import (
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

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/testenv"
)

// boundedRun runs cmd, killing its process group shortly before the test's
// deadline: a command that hangs (as exec without a credential did, while
// Claude Code retried) fails the test with what it printed instead of
// stalling the whole run. No duration is asserted.
func boundedRun(t *testing.T, cmd *exec.Cmd) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var bound <-chan time.Time
	if dl, ok := t.Deadline(); ok {
		bound = time.After(time.Until(dl) - 30*time.Second)
	}
	var err error
	select {
	case err = <-done:
	case <-bound:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("%v did not return before the test's deadline\nstdout: %s\nstderr: %s", cmd.Args, o.String(), e.String())
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// TestExecNoCredential runs the real Claude Code through `clauderon exec`
// with no credential anywhere: exec must refuse to start it, at once, with
// the fix naming exec's own environment (not the daemon's), and nothing
// must reach the upstream.
func TestExecNoCredential(t *testing.T) {
	claude := claudeBinary(t)
	home, fake := fakeHome(t)
	common := []string{"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1"}
	tests := []struct {
		name string
		env  func(t *testing.T) []string
		want []string
	}{
		{"keychain unavailable", func(*testing.T) []string {
			return append(withoutBus(baseEnv(home, common...)), "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus")
		}, []string{"OS keychain unavailable", "dbus-run-session", "in the environment of `clauderon exec`"}},
		{"empty keychain", func(t *testing.T) []string { return tokenEnv(home, testKeyring(t), common...) },
			[]string{"no anthropic credential", "clauderon token set", "in the environment of `clauderon exec`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, "exec", "--", claude, "--print", "say hello")
			cmd.Env = tt.env(t)
			out, errOut, code := boundedRun(t, cmd)
			if code == 0 {
				t.Fatalf("exec without a credential exited 0\nstdout: %s\nstderr: %s", out, errOut)
			}
			for _, w := range append(tt.want, "was not started", "api.anthropic.com") {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if strings.Contains(errOut, "daemon's environment") {
				t.Errorf("the fix points at the daemon's environment, which exec does not read:\n%s", errOut)
			}
			if n := len(fake.MessageRequests()); n != 0 {
				t.Errorf("the upstream saw %d requests; the command should not have run", n)
			}
		})
	}
}

// withoutBus drops the session bus address from env.
func withoutBus(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") {
			out = append(out, kv)
		}
	}
	return out
}

// readmeBlock is the fenced block that follows marker in the README.
func readmeBlock(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), marker)
	if !ok {
		t.Fatalf("the README has no %q", marker)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatalf("no ```sh block after %q in the README", marker)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("the README's block does not end")
	}
	return block
}

// TestHeadlessKeychainREADME runs the README's steps for a keychain without
// a desktop, as written, with a fresh HOME and no D-Bus session: the daemon
// they start stores a token that `token set` sends it in the keyring they
// unlock, and after a restart with the same password it is still there.
func TestHeadlessKeychainREADME(t *testing.T) {
	for _, tool := range []string{"dbus-run-session", "gnome-keyring-daemon", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s is needed (apt-get install dbus gnome-keyring): %v", tool, err)
		}
	}
	block := readmeBlock(t, "<!-- headless-keychain:")
	home := t.TempDir()
	chome := filepath.Join(home, ".clauderon") // the default, as the README leaves it
	if err := os.MkdirAll(chome, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{Proxy: config.Proxy{Port: freeTCPPort(t)}, MCP: config.MCP{Port: -1}}
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(chome, config.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	// `clauderon` on the PATH, as the README's lines call it.
	bin := t.TempDir()
	if err := os.Symlink(binary, filepath.Join(bin, "clauderon")); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + home, "GORACE=atexit_sleep_ms=0"}
	if v, ok := os.LookupEnv("DOCKER_HOST"); ok {
		env = append(env, "DOCKER_HOST="+v)
	}
	const password = "clauderon-readme-test"
	const canary = "sk-ant-oat01-CANARY-readme-keyring-7d41"

	// start runs the block (which ends in the daemon) until stop.
	start := func() (stop func() string) {
		cmd := exec.Command("sh", "-c", block)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(password + "\n")
		var logs bytes.Buffer
		cmd.Stdout, cmd.Stderr = &logs, &logs
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stopped := false
		stop = func() string {
			if !stopped {
				stopped = true
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
				<-exited
			}
			return logs.String()
		}
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); stop() })
		waitFor(t, "the daemon the README's lines start", func() bool {
			select {
			case <-exited:
				t.Fatalf("the README's lines exited before the daemon served:\n%s", logs.String())
			default:
			}
			_, _, code := runClauderon(t, env, "", "list")
			return code == 0
		})
		return stop
	}
	status := func() api.TokenStatus {
		out, errOut, _ := runClauderon(t, env, "", "token", "status", "--json")
		var st api.TokenStatus
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("token status --json: %v\n%s%s", err, out, errOut)
		}
		return st
	}

	stop := start()
	out, errOut, code := runClauderon(t, env, canary, "token", "set")
	if code != 0 || !strings.Contains(out, "through the daemon") {
		t.Fatalf("token set through the README's daemon: exit %d\n%s%s\ndaemon:\n%s", code, out, errOut, stop())
	}
	st := status()
	if !st.Configured || st.Origin != api.OriginKeychain || st.Keychain != api.KeychainSet {
		t.Errorf("after token set: %+v", st)
	}
	logs := stop()

	stop = start()
	st = status()
	if !st.Configured || st.Origin != api.OriginKeychain || st.Keychain != api.KeychainSet || !strings.HasSuffix(canary, strings.TrimPrefix(st.Fingerprint, "…")) {
		t.Errorf("after a restart with the same password: %+v, want the stored token", st)
	}
	logs += stop()
	for where, text := range map[string]string{"token set": out + errOut, "the daemon": logs} {
		assertNoCanary(t, where, text, canary)
	}
	assertNoCanaryUnder(t, home, canary)
}

// TestDoctorNoDaemon: with no daemon, doctor says so and how to start it,
// runs the checks it can, and calls nothing ok that it did not check.
func TestDoctorNoDaemon(t *testing.T) {
	home := t.TempDir()
	env := baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary)
	out, errOut, code := runClauderon(t, env, "", "doctor")
	if code != 1 {
		t.Errorf("doctor without a daemon: exit %d, want 1", code)
	}
	for _, w := range []string{"FAIL  daemon", "no clauderon daemon answers at " + filepath.Join(home, "clauderon.sock"),
		"fix: start it with `clauderon daemon`", "ok    credential   oauth credential found in the environment",
		"FAIL  proxy        not checked: needs the daemon"} {
		if !strings.Contains(out, w) {
			t.Errorf("doctor without a daemon lacks %q:\n%s%s", w, out, errOut)
		}
	}
	assertNoCanary(t, "doctor", out+errOut, Canary)
	js, _, _ := runClauderon(t, env, "", "doctor", "--json")
	var rep api.Doctor
	if err := json.Unmarshal([]byte(js), &rep); err != nil || rep.OK || len(rep.Checks) < 5 {
		t.Errorf("doctor --json without a daemon: %v %+v", err, rep)
	}
}

// TestDoctorProxyNoCredential: with no credential, the proxy check from a
// container gets the proxy's own 401 or 503, and says so as a failure,
// never "ok" beside the failing credential line.
func TestDoctorProxyNoCredential(t *testing.T) {
	image, svc, home, _, env, o := keychainSessionSetup(t)
	startDaemonProc(t, home, 0, env)
	out, errOut, _ := o.run(t, env, "", "doctor", "--json", "--image", image)
	var rep api.Doctor
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s%s", err, out, errOut)
	}
	checks := map[string]api.Check{}
	for _, c := range rep.Checks {
		checks[c.Name] = c
	}
	if c := checks["credential"]; c.OK {
		t.Fatalf("credential check ok with an empty keychain %q: %+v", svc, c)
	}
	if c := checks["proxy"]; c.OK || !strings.Contains(c.Detail, "could not inject a credential") || !strings.Contains(c.Fix, "credential") {
		t.Errorf("proxy check %+v, want a failure pointing at the credential", c)
	}
	if rep.OK {
		t.Error("doctor ok with no credential")
	}
}
