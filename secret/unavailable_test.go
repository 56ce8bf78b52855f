package secret

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/internal/testenv"
)

// childEnv makes the test binary act as the child process of the tests
// below: godbus keeps one session bus connection per process, so each bus
// situation needs a process of its own.
const childEnv = "CLAUDERON_SECRET_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// childReport is what the child prints: the outcome of each operation.
type childReport struct {
	Get, Set, Delete string // error messages
	GetUnavailable   bool   // errors.Is(Get's error, ErrKeychainUnavailable)
	SetUnavailable   bool
	DelUnavailable   bool
	Status           Status
	EnvGet           string // the fingerprint Store.Get returns with the env set
}

func runChild() int {
	ctx := context.Background()
	k := &Keychain{Service: "clauderon-test-child"}
	var r childReport
	_, _, err := k.Get(ctx, Anthropic)
	r.Get, r.GetUnavailable = fmt.Sprint(err), errors.Is(err, ErrKeychainUnavailable)
	err = k.Set(ctx, Anthropic, Wrap("sk-ant-oat01-CANARY-child-never-stored"))
	r.Set, r.SetUnavailable = fmt.Sprint(err), errors.Is(err, ErrKeychainUnavailable)
	err = k.Delete(ctx, Anthropic)
	r.Delete, r.DelUnavailable = fmt.Sprint(err), errors.Is(err, ErrKeychainUnavailable)
	r.Status, _ = (&Store{Env: envOf(nil), Keychain: k}).Status(ctx, Anthropic)
	env := envOf(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-CANARY-child-env-WXYZ"})
	if tok, _, err := (&Store{Env: env, Keychain: k}).Get(ctx, Anthropic); err == nil {
		r.EnvGet = tok.Fingerprint()
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		return 1
	}
	return 0
}

// runChildWith re-runs the test binary, through wrap (e.g. dbus-run-session)
// when given, in env.
func runChildWith(t *testing.T, env []string, wrap ...string) childReport {
	t.Helper()
	args := append(wrap, os.Args[0], "-test.run=^$")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(env, childEnv+"=1")
	if os.Getenv("GORACE") == "" {
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0") // a -race binary otherwise idles 1s at exit
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, stderr.String())
	}
	var r childReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	if strings.Contains(string(out)+stderr.String(), "never-stored") || strings.Contains(string(out), "child-env-WXYZ\"") {
		t.Errorf("child printed a secret: %s", out)
	}
	return r
}

// baseEnv is the environment minus anything D-Bus or credentials.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "DBUS_SESSION_BUS_ADDRESS", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY", "GNOME_KEYRING_CONTROL":
			continue
		}
		env = append(env, kv)
	}
	return env
}

func checkUnavailable(t *testing.T, r childReport, cause string) {
	t.Helper()
	if !r.GetUnavailable || !r.SetUnavailable || !r.DelUnavailable {
		t.Errorf("errors are not ErrKeychainUnavailable:\nget: %s\nset: %s\ndelete: %s", r.Get, r.Set, r.Delete)
	}
	for _, msg := range []string{r.Get, r.Set, r.Delete, r.Status.Error} {
		for _, want := range []string{
			"OS keychain unavailable", cause,
			"unlock the keyring", "gnome-keyring-daemon", // way out 1
			"CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY in the daemon's environment", // way out 2
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}
	}
	if r.Status.Configured || r.Status.Keychain != KeychainUnavailable {
		t.Errorf("Status = %+v, want unconfigured with the keychain unavailable", r.Status)
	}
	if r.EnvGet != "…WXYZ" {
		t.Errorf("with CLAUDE_CODE_OAUTH_TOKEN set, Store.Get gave %q, want the env token", r.EnvGet)
	}
}

func TestUnavailableNoBusSocket(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service is Linux's keychain")
	}
	addr := "unix:path=" + filepath.Join(t.TempDir(), "no-such-bus")
	r := runChildWith(t, append(baseEnv(), "DBUS_SESSION_BUS_ADDRESS="+addr))
	checkUnavailable(t, r, "cannot connect to the D-Bus session bus")
	if !strings.Contains(r.Get, "no-such-bus") {
		t.Errorf("error %q does not name the socket", r.Get)
	}
}

// TestUnavailableNoBusAddress: without an address clauderon must not let
// godbus autolaunch a stray bus.
func TestUnavailableNoBusAddress(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service is Linux's keychain")
	}
	if _, err := os.Stat(filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "bus")); err == nil {
		t.Skip("this machine has a user bus at /run/user/<uid>/bus, which godbus finds without an address")
	}
	for _, addr := range []string{"", "autolaunch:"} {
		env := baseEnv()
		if addr != "" {
			env = append(env, "DBUS_SESSION_BUS_ADDRESS="+addr)
		}
		checkUnavailable(t, runChildWith(t, env), "no D-Bus session bus")
	}
}

// TestUnavailableNoSecretService: a session bus on which no Secret Service
// can be started.
func TestUnavailableNoSecretService(t *testing.T) {
	drs, err := exec.LookPath("dbus-run-session")
	if err != nil {
		testenv.Unavailable(t, "dbus-run-session is needed: %v", err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "session.conf")
	// A session bus with no service directories, so nothing is activated.
	err = os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=`+dir+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	r := runChildWith(t, baseEnv(), drs, "--config-file="+conf, "--")
	checkUnavailable(t, r, "no Secret Service")
}

// TestUnavailableNoKeyring: a Secret Service (gnome-keyring, started by bus
// activation) with no unlocked default keyring, as on a fresh login where
// the unlock prompt cannot be shown.
func TestUnavailableNoKeyring(t *testing.T) {
	drs, err := exec.LookPath("dbus-run-session")
	if err != nil {
		testenv.Unavailable(t, "dbus-run-session is needed: %v", err)
	}
	if _, err := exec.LookPath("gnome-keyring-daemon"); err != nil {
		testenv.Unavailable(t, "gnome-keyring-daemon is needed: %v", err)
	}
	// gnome-keyring keeps its files under these; none of the user's own.
	dir := t.TempDir()
	env := baseEnv()
	for _, k := range []string{"HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"} {
		p := filepath.Join(dir, strings.ToLower(k))
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		env = append(env, k+"="+p)
	}
	env = append(env, "DISPLAY=", "WAYLAND_DISPLAY=") // no prompt can be shown
	r := runChildWith(t, env, drs, "--")
	checkUnavailable(t, r, "locked or missing")
}
