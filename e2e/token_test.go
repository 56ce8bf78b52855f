package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/testenv"

	"github.com/creack/pty"
	"github.com/zalando/go-keyring"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testimage"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/session"
)

// Canaries of the token tests: each must show up only in the keychain and
// in the fake upstream's records.
const (
	kcCanary1   = "sk-ant-oat01-CANARY-keychain-1"
	kcCanary2   = "sk-ant-oat01-CANARY-keychain-2"
	kcCanaryAPI = "sk-ant-api03-CANARY-keychain-3"
	kcCanaryEnv = "sk-ant-oat01-CANARY-keychain-env-4"
	kcCanaryArg = "sk-ant-oat01-CANARY-keychain-argv-5"
	kcNotToken  = "not-a-token-CANARY-keychain-6"
)

// kcCanaryBig is an OAuth token 4 KB past its prefix.
var kcCanaryBig = "sk-ant-oat01-CANARY-keychain-big-" + strings.Repeat("0123456789abcdef", 256)

// testKeyring returns a keychain service of its own for one test, so the
// user's entry is never touched, and removes its entry at cleanup. It fails
// (or skips) without a usable Secret Service.
func testKeyring(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	svc := "clauderon-e2e-" + hex.EncodeToString(b)
	if _, err := keyring.Get(svc, secret.Anthropic); !errors.Is(err, keyring.ErrNotFound) {
		testenv.Unavailable(t, "no usable keychain (run inside dbus-run-session -- ./scripts/with-keyring.sh): %v", err)
	}
	t.Cleanup(func() { _ = keyring.Delete(svc, secret.Anthropic) })
	return svc
}

// keychainHolds fails unless the keychain entry is exactly want.
func keychainHolds(t *testing.T, svc, want string) {
	t.Helper()
	got, err := keyring.Get(svc, secret.Anthropic)
	switch {
	case err != nil:
		t.Errorf("keychain entry: %v, want a value", err)
	case got != want:
		t.Errorf("keychain entry is %d bytes ending %q, want %d bytes ending %q", len(got), tail4(got), len(want), tail4(want))
	}
}

func keychainEmpty(t *testing.T, svc string) {
	t.Helper()
	if _, err := keyring.Get(svc, secret.Anthropic); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("keychain entry after rm: err %v, want not found", err)
	}
}

func tail4(s string) string { return s[max(0, len(s)-4):] }

// tokenEnv is the CLI's (or the daemon's) environment on home and the
// test's keychain service, with no credential unless extra adds one.
func tokenEnv(home, svc string, extra ...string) []string {
	return baseEnv(home, append([]string{"CLAUDERON_KEYRING_SERVICE=" + svc}, extra...)...)
}

// keychainSessionSetup is what the tests of sessions using the keychain
// start from: the engine and the test image, a keychain service of their
// own, a home whose upstream is a fresh fake, the CLI environment for both,
// and the outputs to check for canaries when the test ends.
func keychainSessionSetup(t *testing.T) (image, svc, home string, fake *fakeanthropic.Server, env []string, o *outputs) {
	t.Helper()
	requireDocker(t)
	image = testimage.Ensure(t)
	svc = testKeyring(t)
	home, fake = fakeHome(t)
	o = &outputs{}
	t.Cleanup(func() { o.noCanary(t) })
	return image, svc, home, fake, tokenEnv(home, svc), o
}

// outputs collects every CLI output of a test, to check none has a canary.
type outputs struct {
	mu  sync.Mutex
	all []string
}

func (o *outputs) run(t *testing.T, env []string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	out, errOut, code := runClauderon(t, env, stdin, args...)
	o.mu.Lock()
	// The arguments are left out: one test passes a canary in argv on purpose.
	o.all = append(o.all, "clauderon "+args[0]+" …\n"+out+errOut)
	o.mu.Unlock()
	return out, errOut, code
}

func (o *outputs) ok(t *testing.T, env []string, stdin string, args ...string) (string, string) {
	t.Helper()
	out, errOut, code := o.run(t, env, stdin, args...)
	if code != 0 {
		t.Fatalf("clauderon %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out, errOut
}

// noCanary fails if any output holds any part of a canary beyond its
// fingerprint.
func (o *outputs) noCanary(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.all {
		if strings.Contains(s, "CANARY") {
			t.Errorf("a command printed a canary token:\n%s", s)
		}
	}
}

type tokenStatusOut struct {
	secret.Status
	SeenBy    string `json:"seen_by"`
	DaemonPID int    `json:"daemon_pid"`
}

func tokenStatus(t *testing.T, o *outputs, env []string) (tokenStatusOut, int) {
	t.Helper()
	out, errOut, code := o.run(t, env, "", "token", "status", "--json")
	var st tokenStatusOut
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("token status --json: %v\nstdout: %s\nstderr: %s", err, out, errOut)
	}
	return st, code
}

// TestTokenCLI drives `token set|status|rm` against a real keychain, first
// with no daemon (the CLI uses the keychain itself), then through a running
// daemon's LocalAPI.
func TestTokenCLI(t *testing.T) {
	for _, withDaemon := range []bool{false, true} {
		name := "no daemon"
		if withDaemon {
			name = "daemon"
		}
		t.Run(name, func(t *testing.T) {
			svc := testKeyring(t)
			home := t.TempDir()
			env := tokenEnv(home, svc)
			seenBy, seenByJSON := "(no daemon running; as seen by this shell)", "local"
			var d *sessDaemon
			if withDaemon {
				requireDocker(t)
				d = startDaemonProc(t, home, 0, env)
				seenBy, seenByJSON = "(as seen by the daemon, pid "+strconv.Itoa(d.cmd.Process.Pid)+")", "daemon"
			}
			o := &outputs{}
			defer o.noCanary(t)

			// Nothing configured.
			out, _, code := o.run(t, env, "", "token", "status")
			if code != 1 || !strings.Contains(out, "configured:  no") || !strings.Contains(out, "clauderon token set") || !strings.Contains(out, seenBy) {
				t.Errorf("status with nothing stored: exit %d\n%s", code, out)
			}
			st, _ := tokenStatus(t, o, env)
			if st.Configured || st.Keychain != secret.KeychainEmpty || st.SeenBy != seenByJSON {
				t.Errorf("status --json with nothing stored: %+v", st)
			}

			// set from stdin, whitespace and newlines trimmed.
			out, _ = o.ok(t, env, " \n\t"+kcCanary1+" \r\n\n", "token", "set")
			if !strings.Contains(out, "oauth …in-1") {
				t.Errorf("set printed %q, want the kind and fingerprint", out)
			}
			keychainHolds(t, svc, kcCanary1)
			out, _ = o.ok(t, env, "", "token", "status")
			for _, want := range []string{"configured:  yes", "kind:        oauth", "origin:      keychain", "fingerprint: …in-1", seenBy} {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}
			st, code = tokenStatus(t, o, env)
			if code != 0 || !st.Configured || st.Kind != secret.KindOAuth || st.Origin != secret.OriginKeychain || st.Fingerprint != "…in-1" || st.Keychain != secret.KeychainSet || st.Warning != "" {
				t.Errorf("status --json: exit %d %+v", code, st)
			}
			if withDaemon && st.DaemonPID != d.cmd.Process.Pid {
				t.Errorf("status --json daemon_pid = %d, want %d", st.DaemonPID, d.cmd.Process.Pid)
			}

			// Overwrite, an API key, and a 4 KB token.
			o.ok(t, env, kcCanary2, "token", "set")
			keychainHolds(t, svc, kcCanary2)
			if st, _ := tokenStatus(t, o, env); st.Fingerprint != "…in-2" {
				t.Errorf("after overwrite: fingerprint %q, want …in-2", st.Fingerprint)
			}
			out, _ = o.ok(t, env, kcCanaryAPI+"\n", "token", "set")
			if !strings.Contains(out, "api-key …in-3") {
				t.Errorf("set of an API key printed %q", out)
			}
			if st, _ := tokenStatus(t, o, env); st.Kind != secret.KindAPIKey {
				t.Errorf("after an API key: kind %q", st.Kind)
			}
			o.ok(t, env, kcCanaryBig+"\n", "token", "set")
			keychainHolds(t, svc, kcCanaryBig)
			if st, _ := tokenStatus(t, o, env); st.Fingerprint != "…"+tail4(kcCanaryBig) || st.Kind != secret.KindOAuth {
				t.Errorf("after the 4 KB token: %+v", st)
			}

			// Refused: argv, a non-token, nothing.
			_, errOut, code := o.run(t, env, "", "token", "set", kcCanaryArg)
			for _, want := range []string{"ps", "shell history", "Pipe it in", "prompt"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("token set with an argument: stderr lacks %q: %s", want, errOut)
				}
			}
			if code == 0 {
				t.Error("token set with an argument succeeded")
			}
			_, errOut, code = o.run(t, env, kcNotToken, "token", "set")
			if code == 0 || !strings.Contains(errOut, "claude setup-token") || !strings.Contains(errOut, "sk-ant-oat01-") {
				t.Errorf("token set of a non-token: exit %d, stderr %q", code, errOut)
			}
			_, errOut, code = o.run(t, env, "  \n", "token", "set")
			if code == 0 || !strings.Contains(errOut, "no token given") {
				t.Errorf("token set of nothing: exit %d, stderr %q", code, errOut)
			}
			keychainHolds(t, svc, kcCanaryBig) // none of them changed it

			// What the CLI's own environment holds does not matter to a
			// daemon; it does when no daemon runs.
			cliEnv := tokenEnv(home, svc, "CLAUDE_CODE_OAUTH_TOKEN="+kcCanaryEnv)
			out, _ = o.ok(t, cliEnv, "", "token", "status")
			if withDaemon {
				if !strings.Contains(out, "origin:      keychain") || strings.Contains(out, "warning") {
					t.Errorf("status through the daemon depends on the CLI's environment:\n%s", out)
				}
			} else {
				for _, want := range []string{"origin:      environment (CLAUDE_CODE_OAUTH_TOKEN)", "fingerprint: …nv-4", "warning: CLAUDE_CODE_OAUTH_TOKEN in this shell's environment (…nv-4) overrides the keychain entry (…" + tail4(kcCanaryBig) + ")"} {
					if !strings.Contains(out, want) {
						t.Errorf("status with the variable in the shell lacks %q:\n%s", want, out)
					}
				}
				_, errOut := o.ok(t, cliEnv, kcCanary1, "token", "set")
				if !strings.Contains(errOut, "warning: CLAUDE_CODE_OAUTH_TOKEN in this shell's environment") {
					t.Errorf("set with the variable in the shell: no shadowing warning in %q", errOut)
				}
			}

			// rm, then rm again.
			out, _ = o.ok(t, env, "", "token", "rm")
			if !strings.Contains(out, "removed the anthropic credential") || !strings.Contains(out, seenBy) {
				t.Errorf("rm printed %q", out)
			}
			keychainEmpty(t, svc)
			if st, code := tokenStatus(t, o, env); code != 1 || st.Configured || st.Keychain != secret.KeychainEmpty {
				t.Errorf("status after rm: exit %d %+v", code, st)
			}
			out, _ = o.ok(t, env, "", "token", "rm")
			if !strings.Contains(out, "nothing removed") {
				t.Errorf("second rm printed %q", out)
			}

			// Bad names, stray arguments, help.
			_, errOut, code = o.run(t, env, "", "token", "status", "--name", "github-ish")
			if code == 0 || !strings.Contains(errOut, "unknown credential name") || !strings.Contains(errOut, "known: anthropic") {
				t.Errorf("--name github-ish: exit %d, stderr %q", code, errOut)
			}
			_, errOut, code = o.run(t, env, "", "token", kcCanaryArg)
			if code == 0 || !strings.Contains(errOut, "needs a subcommand") {
				t.Errorf("token TOKEN: exit %d, stderr %q", code, errOut)
			}
			for _, sub := range [][]string{{"token"}, {"token", "set"}, {"token", "status"}, {"token", "rm"}} {
				out, _ := o.ok(t, env, "", append(sub, "--help")...)
				if !strings.Contains(out, "Usage:") || !strings.Contains(out, "--name") {
					t.Errorf("%s --help:\n%s", strings.Join(sub, " "), out)
				}
			}

			if withDaemon {
				assertNoCanary(t, "the daemon's log", d.logs.String(), "CANARY")
				tokenAPIErrors(t, d)
			}
			for _, c := range []string{kcCanary1, kcCanary2, kcCanaryAPI, kcCanaryBig, kcCanaryArg, kcCanaryEnv} {
				assertNoCanaryUnder(t, home, c)
			}
		})
	}
}

// tokenAPIErrors checks the LocalAPI's token routes answer bad input with
// the right status and a message that does not repeat the token.
func tokenAPIErrors(t *testing.T, d *sessDaemon) {
	t.Helper()
	ctx := context.Background()
	c := d.client()
	var ae *client.APIError
	_, err := c.SetToken(ctx, secret.Anthropic, kcNotToken)
	if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || !strings.Contains(ae.Message, "claude setup-token") || strings.Contains(ae.Message, "CANARY") {
		t.Errorf("PUT of a non-token: %v", err)
	}
	_, err = c.TokenStatus(ctx, "nosuch")
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !strings.Contains(ae.Message, "unknown credential name") {
		t.Errorf("GET of an unknown name: %v", err)
	}
	_, err = c.SetToken(ctx, "nosuch", kcCanary1)
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || strings.Contains(ae.Message, "CANARY") {
		t.Errorf("PUT of an unknown name: %v", err)
	}
	_, err = c.DeleteToken(ctx, secret.Anthropic)
	if !errors.Is(err, client.ErrNotFound) {
		t.Errorf("DELETE of a missing entry: %v, want not found", err)
	}
	// A body that is not {"token": "..."} is refused without being quoted.
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "unix", filepath.Join(d.home, client.SocketFile))
	}}}
	req, _ := http.NewRequest(http.MethodPut, "http://clauderon"+api.APIPrefix+"/tokens/anthropic",
		strings.NewReader(`{"tokn": "`+kcCanary1+`"}`))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "CANARY") || !strings.Contains(string(body), `"error"`) {
		t.Errorf("PUT of a bad body: %d %s", resp.StatusCode, body)
	}
	assertNoCanary(t, "the daemon's log", d.logs.String(), "CANARY")
}

// proxyGet sends GET https://api.anthropic.com/echo/x through the daemon's
// proxy as user:pass and returns the status and body.
func proxyGet(t *testing.T, home string, port int, user, pass string) (int, string) {
	t.Helper()
	code, body, err := proxyEcho(t, home, port, user, pass)
	if err != nil {
		t.Fatalf("GET through the proxy: %v", err)
	}
	return code, body
}

// lastEcho is the Authorization the fake received on its last /echo/ request.
func lastEcho(t *testing.T, fake *fakeanthropic.Server) string {
	t.Helper()
	reqs := fake.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if strings.HasPrefix(reqs[i].Path, "/echo/") {
			return reqs[i].Authorization
		}
	}
	t.Fatal("the fake upstream received no /echo/ request")
	return ""
}

// sessionProxyUser creates an interactive session and returns its proxy
// credential, as the container would use it.
func sessionProxyUser(t *testing.T, home, image, name string) (user, pass string) {
	t.Helper()
	clOK(t, home, "create", "--name", name, "--image", image, "--no-workdir")
	u := proxyURLOf(t, session.ContainerName(name))
	pass, _ = u.User.Password()
	return u.User.Username(), pass
}

// assertNoCanaryInArgv scans every process's command line.
func assertNoCanaryInArgv(t *testing.T, canaries ...string) {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil || len(procs) == 0 {
		t.Fatalf("cannot list processes: %v", err)
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // it exited
		}
		for _, c := range canaries {
			if strings.Contains(string(b), c) {
				t.Errorf("the canary is on the command line of %s: %q", p, b)
			}
		}
	}
}

// TestTokenKeychainOnly: with the token only in the keychain (no variable in
// any environment) `clauderon exec` and a container print session both
// reach the upstream with it; a `token set` through the running daemon
// changes what the very next proxied request carries; and the token is in
// no file, log or command line.
func TestTokenKeychainOnly(t *testing.T) {
	claude := claudeBinary(t)
	image, svc, home, fake, env, o := keychainSessionSetup(t)

	o.ok(t, env, kcCanary1+"\n", "token", "set")

	// exec, with no daemon.
	execEnv := tokenEnv(home, svc, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1")
	out, _ := o.ok(t, execEnv, "", "exec", "--", claude, "--print", "say hello")
	if !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Fatalf("exec claude printed %q", out)
	}
	n := len(fake.MessageRequests())
	if n == 0 {
		t.Fatal("exec: the fake saw no /v1/messages request")
	}
	for _, r := range fake.MessageRequests() {
		if r.Authorization != "Bearer "+kcCanary1 {
			t.Errorf("exec: the fake got Authorization %q, want the keychain's token", r.Authorization)
		}
	}

	// A container print session through the daemon.
	d := startDaemonProc(t, home, 0, env)
	wd := workdir(t)
	out = clOK(t, home, "create", "--name", sname("kc-print"), "--prompt", "say hello", "--print", "--wait", "--image", image, "--workdir", wd)
	if !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Fatalf("create --print --wait printed %q", out)
	}
	msgs := fake.MessageRequests()
	if len(msgs) == n {
		t.Fatal("the print session sent no /v1/messages request")
	}
	for _, r := range msgs[n:] {
		if r.Authorization != "Bearer "+kcCanary1 {
			t.Errorf("print session: the fake got Authorization %q, want the keychain's token", r.Authorization)
		}
	}

	// Hot change: A, then `token set` B through the daemon, then B.
	user, pass := sessionProxyUser(t, home, image, sname("kc-hot"))
	if code, body := proxyGet(t, home, d.port, user, pass); code != http.StatusOK {
		t.Fatalf("through the proxy: %d %s", code, body)
	}
	if got := lastEcho(t, fake); got != "Bearer "+kcCanary1 {
		t.Errorf("before token set: the fake got %q, want token A", got)
	}
	out, _ = o.ok(t, env, kcCanary2, "token", "set")
	if !strings.Contains(out, "through the daemon, pid "+strconv.Itoa(d.cmd.Process.Pid)) {
		t.Errorf("token set did not go through the daemon: %q", out)
	}
	if code, body := proxyGet(t, home, d.port, user, pass); code != http.StatusOK {
		t.Fatalf("through the proxy after token set: %d %s", code, body)
	}
	if got := lastEcho(t, fake); got != "Bearer "+kcCanary2 {
		t.Errorf("after token set: the fake got %q, want token B at once", got)
	}

	// Leaks, while the daemon and a session run.
	assertNoCanaryInArgv(t, kcCanary1, kcCanary2)
	for _, c := range []string{kcCanary1, kcCanary2} {
		assertNoCanaryUnder(t, home, c)
		assertNoCanaryUnder(t, wd, c)
		assertNoCanary(t, "the daemon's log", d.logs.String(), c)
	}
	inspect, err := dockerCLI(t, "inspect", session.ContainerName(sname("kc-hot")), session.ContainerName(sname("kc-print")))
	if err != nil {
		t.Fatalf("docker inspect: %v", err)
	}
	assertNoCanary(t, "docker inspect", inspect, "CANARY")
}

// TestTokenEnvPrecedence: a daemon started with CLAUDE_CODE_OAUTH_TOKEN
// injects that, whatever the keychain holds, and says so in status, set and
// doctor.
func TestTokenEnvPrecedence(t *testing.T) {
	image, svc, home, fake, env, o := keychainSessionSetup(t)

	o.ok(t, env, kcCanary1, "token", "set")
	d := startDaemonProc(t, home, 0, tokenEnv(home, svc, "CLAUDE_CODE_OAUTH_TOKEN="+kcCanaryEnv))
	seenBy := "(as seen by the daemon, pid " + strconv.Itoa(d.cmd.Process.Pid) + ")"

	out, _ := o.ok(t, env, "", "token", "status")
	for _, want := range []string{seenBy, "origin:      environment (CLAUDE_CODE_OAUTH_TOKEN)", "fingerprint: …nv-4", "keychain:    set",
		"warning: CLAUDE_CODE_OAUTH_TOKEN in the daemon's environment (…nv-4) overrides the keychain entry (…in-1)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	out, errOut := o.ok(t, env, kcCanary2, "token", "set")
	if !strings.Contains(out, "stored") || !strings.Contains(errOut, "warning: CLAUDE_CODE_OAUTH_TOKEN in the daemon's environment (…nv-4) overrides the keychain entry (…in-2)") {
		t.Errorf("set under a shadowing variable: stdout %q stderr %q", out, errOut)
	}
	keychainHolds(t, svc, kcCanary2)

	user, pass := sessionProxyUser(t, home, image, sname("kc-env"))
	if code, body := proxyGet(t, home, d.port, user, pass); code != http.StatusOK {
		t.Fatalf("through the proxy: %d %s", code, body)
	}
	if got := lastEcho(t, fake); got != "Bearer "+kcCanaryEnv {
		t.Errorf("the fake got %q, want the daemon's environment's token", got)
	}

	cred := doctorCheck(t, o, env, "credential")
	if !cred.OK || !strings.Contains(cred.Detail, "environment") || !strings.Contains(cred.Detail, "overrides the keychain entry") {
		t.Errorf("doctor's credential check: %+v", cred)
	}
	for _, c := range []string{kcCanary1, kcCanary2, kcCanaryEnv} {
		assertNoCanaryUnder(t, home, c)
		assertNoCanary(t, "the daemon's log", d.logs.String(), c)
	}
}

// doctorCheck runs `doctor --json` against an image that is not there (so
// the slow checks are skipped) and returns the named check.
func doctorCheck(t *testing.T, o *outputs, env []string, name string) api.Check {
	t.Helper()
	out, errOut, _ := o.run(t, env, "", "doctor", "--json", "--image", "clauderon-no-such-image:x")
	var rep api.Doctor
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("doctor --json: %v\n%s%s", err, out, errOut)
	}
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("doctor has no %s check: %s", name, out)
	return api.Check{}
}

// TestTokenNoCredential: with no credential anywhere the proxy answers 401
// JSON telling what to run, the audit log records it, doctor says how to fix
// it, and a `token set` makes the next request work.
func TestTokenNoCredential(t *testing.T) {
	image, _, home, fake, env, o := keychainSessionSetup(t)
	d := startDaemonProc(t, home, 0, env)

	cred := doctorCheck(t, o, env, "credential")
	if cred.OK || !strings.Contains(cred.Detail, "no Anthropic credential") || !strings.Contains(cred.Fix, "clauderon token set") || !strings.Contains(cred.Fix, "claude setup-token") {
		t.Errorf("doctor's credential check with nothing configured: %+v", cred)
	}

	user, pass := sessionProxyUser(t, home, image, sname("kc-none"))
	code, body := proxyGet(t, home, d.port, user, pass)
	var e struct {
		Type  string `json:"type"`
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if code != http.StatusUnauthorized || json.Unmarshal([]byte(body), &e) != nil || e.Type != "error" ||
		e.Error.Message != "no Anthropic credential configured; run `clauderon token set`" {
		t.Errorf("with no credential: %d %s", code, body)
	}
	if len(fake.Requests()) != 0 {
		t.Errorf("the request reached the upstream without a credential")
	}
	var audited bool
	for _, l := range readAudit(t, home) {
		if l.Session == sname("kc-none") && l.Status == http.StatusUnauthorized && !l.AuthInjected && strings.Contains(l.Error, "no Anthropic credential") {
			audited = true
		}
	}
	if !audited {
		t.Error("the audit log has no 401 line for kc-none")
	}

	o.ok(t, env, kcCanary1, "token", "set")
	if code, body := proxyGet(t, home, d.port, user, pass); code != http.StatusOK {
		t.Fatalf("after token set: %d %s", code, body)
	}
	if got := lastEcho(t, fake); got != "Bearer "+kcCanary1 {
		t.Errorf("after token set: the fake got %q", got)
	}
	if cred := doctorCheck(t, o, env, "credential"); !cred.OK || !strings.Contains(cred.Detail, "keychain") {
		t.Errorf("doctor after token set: %+v", cred)
	}
}

// TestTokenNoKeychain: without a D-Bus session the CLI (no daemon) says what
// is wrong and both ways out; a daemon in the same state answers 503 with
// that message, and doctor names it.
func TestTokenNoKeychain(t *testing.T) {
	home := t.TempDir()
	svc := "clauderon-e2e-nokeychain"
	noBus := tokenEnv(home, svc, "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent")
	o := &outputs{}
	defer o.noCanary(t)
	wants := []string{"OS keychain unavailable", "cannot connect to the D-Bus session bus", "gnome-keyring-daemon", "CLAUDE_CODE_OAUTH_TOKEN"}

	_, errOut, code := o.run(t, noBus, kcCanary1, "token", "set")
	if code == 0 {
		t.Error("token set without a keychain succeeded")
	}
	for _, want := range wants {
		if !strings.Contains(errOut, want) {
			t.Errorf("token set without a keychain: stderr lacks %q: %s", want, errOut)
		}
	}
	out, _, code := o.run(t, noBus, "", "token", "status")
	if code != 1 || !strings.Contains(out, "keychain:    unavailable") || !strings.Contains(out, "cannot connect to the D-Bus session bus") {
		t.Errorf("token status without a keychain: exit %d\n%s", code, out)
	}

	requireDocker(t)
	d := startDaemonProc(t, home, 0, noBus)
	_, errOut, code = o.run(t, noBus, kcCanary1, "token", "set")
	if code == 0 || !strings.Contains(errOut, "cannot connect to the D-Bus session bus") {
		t.Errorf("token set through a daemon without a keychain: exit %d, stderr %s", code, errOut)
	}
	_, err := d.client().SetToken(context.Background(), secret.Anthropic, kcCanary1)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Errorf("PUT without a keychain: %v, want 503", err)
	}
	cred := doctorCheck(t, o, noBus, "credential")
	if cred.OK || !strings.Contains(cred.Detail, "OS keychain unavailable") || !strings.Contains(cred.Fix, "CLAUDE_CODE_OAUTH_TOKEN") || !strings.Contains(cred.Fix, "keychain") {
		t.Errorf("doctor's credential check without a keychain: %+v", cred)
	}
	assertNoCanary(t, "the daemon's log", d.logs.String(), "CANARY")
}

// TestTokenPrompt types the token at the prompt `token set` shows on a
// terminal: it must not be echoed; ctrl-c at the prompt stores nothing.
func TestTokenPrompt(t *testing.T) {
	svc := testKeyring(t)
	home := t.TempDir()
	env := tokenEnv(home, svc)

	type run struct {
		out  *syncbuf.Buffer
		done chan error
		ptmx *os.File
	}
	start := func() *run {
		cmd := exec.Command(binary, "token", "set")
		cmd.Env = env
		ptmx, err := pty.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ptmx.Close() })
		r := &run{out: &syncbuf.Buffer{}, done: make(chan error, 1), ptmx: ptmx}
		go func() { _, _ = io.Copy(r.out, ptmx) }()
		go func() { r.done <- cmd.Wait() }()
		waitFor(t, "the prompt", func() bool { return strings.Contains(r.out.String(), "will not be shown): ") })
		return r
	}

	r := start()
	if _, err := r.ptmx.Write([]byte("  " + kcCanary1 + "\r")); err != nil {
		t.Fatal(err)
	}
	if err := <-r.done; err != nil {
		t.Fatalf("token set at the prompt: %v\n%s", err, r.out.String())
	}
	waitFor(t, "the result", func() bool { return strings.Contains(r.out.String(), "stored the anthropic credential") })
	if strings.Contains(r.out.String(), "CANARY") {
		t.Errorf("the terminal echoed the token:\n%s", r.out.String())
	}
	keychainHolds(t, svc, kcCanary1)

	r = start()
	if _, err := r.ptmx.Write([]byte("sk-ant-oat01-CANARY-half\x03")); err != nil {
		t.Fatal(err)
	}
	if err := <-r.done; err == nil {
		t.Errorf("ctrl-c at the prompt: exit 0\n%s", r.out.String())
	}
	waitFor(t, "the message", func() bool { return strings.Contains(r.out.String(), "interrupted; nothing stored") })
	if strings.Contains(r.out.String(), "CANARY") {
		t.Errorf("the terminal echoed the partial token:\n%s", r.out.String())
	}
	keychainHolds(t, svc, kcCanary1)
}
