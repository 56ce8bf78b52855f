//go:build desktop

package desktop_test

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/desktop"
	"github.com/clauderon/clauderon/desktop/desktoptest"
	"github.com/clauderon/clauderon/internal/testenv"
)

// The window tests run the real desktop binary under Xvfb, inside the
// D-Bus session with an unlocked gnome-keyring that scripts/test.sh gives
// every test (scripts/with-keyring.sh), and read what the window shows
// from the frontend's reports (desktop.DumpEnv): the rows of the sessions
// view as the DOM holds them, or the setup view's steps. The screenshot of
// each is saved for a person to look at.

type rig struct {
	dir, home, app, cli string
	x                   *desktoptest.Display
}

var built struct{ app, cli string }

func setup(t *testing.T) *rig {
	t.Helper()
	tags, err := desktoptest.Tags()
	if err != nil {
		testenv.Unavailable(t, "the desktop build: %v", err)
	}
	for _, tool := range []string{"Xvfb", "import", "secret-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s is needed (scripts/test-deps.sh installs it): %v", tool, err)
		}
	}
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" {
		testenv.Unavailable(t, "no D-Bus session: run under dbus-run-session -- ./scripts/with-keyring.sh")
	}
	if built.app == "" {
		dir, err := os.MkdirTemp("", "clauderon-desktop-bin")
		if err != nil {
			t.Fatal(err)
		}
		app, cli := filepath.Join(dir, "clauderon"), filepath.Join(dir, "clauderon-cli")
		if err := desktoptest.Build("..", app, tags); err != nil {
			t.Fatal(err)
		}
		if err := desktoptest.Build("..", cli, ""); err != nil {
			t.Fatal(err)
		}
		built.app, built.cli = app, cli
	}
	r := &rig{dir: t.TempDir(), app: built.app, cli: built.cli}
	if r.home, err = desktoptest.NewHome(r.dir); err != nil {
		t.Fatal(err)
	}
	if r.x, err = desktoptest.StartXvfb(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.x.Stop)
	return r
}

// env is the environment of the app and the CLI: the rig's home and a
// keychain service of this test's own.
func (r *rig) env(service string) []string {
	return []string{"CLAUDERON_HOME=" + r.home, "CLAUDERON_KEYRING_SERVICE=" + service}
}

func (r *rig) shot(t *testing.T, name string) {
	t.Helper()
	p := filepath.Join(desktoptest.ArtifactsDir(), name+"-"+time.Now().Format("20060102-150405")+".png")
	if err := r.x.Screenshot(p); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

func (r *rig) run(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(r.cli, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("clauderon %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func startApp(t *testing.T, r *rig, env []string) *desktoptest.App {
	t.Helper()
	app, err := desktoptest.StartApp(r.app, r.x, r.dir, env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := app.Stop(); err != nil {
			t.Logf("the app: %v", err)
		}
		if t.Failed() {
			t.Logf("the app's log:\n%s", app.Log())
		}
	})
	return app
}

// TestWindowShowsSessions: with a daemon running, the app is its client,
// and its window lists a session created through the CLI.
func TestWindowShowsSessions(t *testing.T) {
	r := setup(t)
	svc := "clauderon-wintest-" + rand.Text()[:8]
	env := r.env(svc)
	// A real daemon of the static CLI (sessions run it as their gateway)
	// with a canary token in its environment.
	d := exec.Command(r.cli, "daemon")
	d.Env = append(append(os.Environ(), env...), "CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-CANARY-desktop-"+rand.Text()[:12])
	dlog := &strings.Builder{}
	d.Stdout, d.Stderr = dlog, dlog
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Process.Signal(os.Interrupt)
		d.Wait()
		if t.Failed() {
			t.Logf("the daemon's log:\n%s", dlog.String())
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	waitCLI(ctx, t, r, env)

	name := "win-" + strings.ToLower(rand.Text()[:6])
	r.run(t, env, "create", "--name", name, "--no-workdir")
	t.Cleanup(func() {
		cmd := exec.Command(r.cli, "rm", "--force", "--discard", name)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("clauderon rm %s: %v %s", name, err, out)
		}
	})

	app := startApp(t, r, env)
	got, err := app.Wait(ctx, "the sessions view listing "+name, func(rep desktop.Report) bool {
		if rep.View != "sessions" {
			return false
		}
		for _, row := range rep.Rows {
			if row.Name == name && strings.Contains(row.Text, "running") {
				return true
			}
		}
		return false
	})
	if err != nil {
		r.shot(t, "window-sessions-failed")
		t.Fatal(err)
	}
	t.Logf("the window listed %s %.0f ms after the app started: %+v", name, float64(got.Time-app.Started.UnixNano())/1e6, got.Report.Rows)
	r.shot(t, "window-sessions")
	if !strings.Contains(app.Log(), "client of the running daemon") {
		t.Errorf("the app did not say it is the running daemon's client; its log:\n%s", app.Log())
	}
}

// TestFirstRun: with no credential anywhere, the window opens on the
// setup; a canary token typed into it and submitted lands in the real
// gnome-keyring, and the setup then shows its kind and fingerprint.
func TestFirstRun(t *testing.T) {
	r := setup(t)
	xdotool, err := exec.LookPath("xdotool")
	if err != nil {
		testenv.Unavailable(t, "xdotool is needed to type into the window (scripts/test-deps.sh installs it): %v", err)
	}
	svc := "clauderon-firstrun-" + rand.Text()[:8]
	env := append(r.env(svc), "CLAUDE_CODE_OAUTH_TOKEN=", "ANTHROPIC_API_KEY=")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app := startApp(t, r, env)
	if _, err := app.Wait(ctx, "the setup view", func(rep desktop.Report) bool {
		return rep.View == "setup" && rep.Setup["token"] == "missing" && rep.Setup["field"] == "token"
	}); err != nil {
		r.shot(t, "first-run-failed")
		t.Fatal(err)
	}
	r.shot(t, "first-run-setup")
	if !strings.Contains(app.Log(), "runs the daemon in-process") {
		t.Errorf("with no daemon running the app did not run one in-process; its log:\n%s", app.Log())
	}

	// The heading has the focus (app.js); the token field is the next
	// stop. Typed as a person would: xdotool sends X key events to the
	// focused window.
	token := "sk-ant-oat01-CANARY-firstrun-" + rand.Text()[:16]
	xdo := func(args ...string) {
		t.Helper()
		cmd := exec.Command(xdotool, args...)
		cmd.Env = append(os.Environ(), "DISPLAY="+r.x.Name)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xdotool %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	xdo("search", "--sync", "--onlyvisible", "--name", "^clauderon$|Set up clauderon", "windowfocus", "--sync")
	xdo("key", "--clearmodifiers", "Tab")
	xdo("type", "--delay", "5", token)
	xdo("key", "Return")

	got, err := app.Wait(ctx, "the setup showing the stored token", func(rep desktop.Report) bool {
		return rep.View == "setup" && rep.Setup["token"] == "ok"
	})
	if err != nil {
		r.shot(t, "first-run-token-failed")
		t.Fatal(err)
	}
	r.shot(t, "first-run-token-stored")
	// The fingerprint shows as "…" and the last 4 characters.
	if got.Report.Setup["kind"] != "oauth" || strings.TrimPrefix(got.Report.Setup["fingerprint"], "…") != token[len(token)-4:] {
		t.Errorf("the setup shows kind %q, fingerprint %q; want oauth and %q", got.Report.Setup["kind"], got.Report.Setup["fingerprint"], token[len(token)-4:])
	}
	out, err := exec.Command("secret-tool", "lookup", "service", svc, "username", "anthropic").Output()
	if err != nil || string(out) != token {
		t.Fatalf("the gnome-keyring holds %d bytes under %s/anthropic (%v), not the typed token", len(out), svc, err)
	}
	t.Cleanup(func() { exec.Command("secret-tool", "clear", "service", svc, "username", "anthropic").Run() })
}

// waitCLI waits until the daemon answers `clauderon status`.
func waitCLI(ctx context.Context, t *testing.T, r *rig, env []string) {
	t.Helper()
	for {
		cmd := exec.Command(r.cli, "status")
		cmd.Env = append(os.Environ(), env...)
		if cmd.Run() == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("the daemon did not answer clauderon status")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestFirstRunWithoutKeychain: with no Secret Service to reach, the setup
// says that no keychain is available, and what to do, instead of offering
// a field whose token could not be stored.
func TestFirstRunWithoutKeychain(t *testing.T) {
	r := setup(t)
	env := append(r.env("clauderon-nokeychain-"+rand.Text()[:8]), "CLAUDE_CODE_OAUTH_TOKEN=", "ANTHROPIC_API_KEY=",
		// A session bus that is not there: no Secret Service either.
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+filepath.Join(r.dir, "no-bus"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	app := startApp(t, r, env)
	got, err := app.Wait(ctx, "the setup saying no keychain is available", func(rep desktop.Report) bool {
		return rep.View == "setup" && rep.Setup["token"] == "no-keychain"
	})
	if err != nil {
		r.shot(t, "first-run-no-keychain-failed")
		t.Fatal(err)
	}
	r.shot(t, "first-run-no-keychain")
	if got.Report.Setup["field"] != "" {
		t.Errorf("the setup offers a token field with no keychain to store it in: %+v", got.Report.Setup)
	}
}

// TestNoDisplay: the desktop binary on a machine without a display (an
// ssh login) prints the CLI's help and says how to go on, exits 0, and
// neither starts a daemon nor panics in GTK.
func TestNoDisplay(t *testing.T) {
	r := setup(t)
	cmd := exec.Command(r.app)
	cmd.Env = append(os.Environ(), r.env("clauderon-test-nodisplay")...)
	var kept []string
	for _, e := range cmd.Env {
		if !strings.HasPrefix(e, "DISPLAY=") && !strings.HasPrefix(e, "WAYLAND_DISPLAY=") {
			kept = append(kept, e)
		}
	}
	cmd.Env = kept
	out, err := cmd.CombinedOutput()
	if err != nil || strings.Contains(string(out), "panic") || !strings.Contains(string(out), "no display for the desktop app") ||
		!strings.Contains(string(out), "Usage:") {
		t.Errorf("with no display: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(r.home, "clauderon.sock")); err == nil {
		t.Error("a daemon was started with no display")
	}
}
