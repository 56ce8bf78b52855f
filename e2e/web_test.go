package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/testimage"
	"github.com/clauderon/clauderon/session"
)

// webCanary is the token the Credential view stores: it must reach the
// daemon and never come back to the browser.
const webCanary = "sk-ant-oat01-CANARY-webui-8e2d41c7b05a"

// webEnv is a daemon serving the web UI on a free loopback port.
type webEnv struct {
	*sessionEnv
	svc    string // the daemon's keychain service
	uiPort int
	base   string
}

func newWebEnv(t *testing.T) *webEnv {
	t.Helper()
	requireDocker(t)
	image := testimage.Ensure(t)
	home, fake := fakeHome(t)
	port := freeTCPPort(t)
	setUIPort(t, home, port)
	// No token in the environment: the Credential view stores the one the
	// sessions then use, in a keychain service of this test's own.
	svc := testKeyring(t)
	d := startDaemonProc(t, home, 0, tokenEnv(home, svc))
	return &webEnv{sessionEnv: &sessionEnv{home: home, fake: fake, image: image, d: d}, svc: svc, uiPort: port, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
}

// setUIPort sets ui.port in home's config.json, keeping every other key
// as written (through a map, so no field of config.Config is needed).
func setUIPort(t *testing.T, home string, port int) {
	t.Helper()
	p := filepath.Join(home, config.FileName)
	var cfg map[string]any
	b, err := os.ReadFile(p)
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg["ui"] = map[string]any{"port": port}
	b, _ = json.Marshal(cfg)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

var loginURLRE = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/login\?token=[A-Za-z0-9_-]+`)

// loginURL mints a one-time login URL with `clauderon ui --print`.
func (e *webEnv) loginURL(t *testing.T) string {
	t.Helper()
	out := clOK(t, e.home, "ui", "--print")
	u := loginURLRE.FindString(out)
	if u == "" {
		t.Fatalf("clauderon ui --print printed no login URL: %q", out)
	}
	if !strings.HasPrefix(u, e.base+"/login?") {
		t.Fatalf("the login URL %s is not on the configured port %d", u, e.uiPort)
	}
	return u
}

// onlyText is the text with every white space (the terminal's rows pad
// with no-break spaces) removed, as screenText does for a pty.
const onlyText = `.replace(/\s/g, "")`

// TestWebUI drives the web UI in headless chromium against a real daemon,
// the real Claude Code in real containers and the fake upstream. The
// subtests share the daemon, the tab and the sessions, in order.
func TestWebUI(t *testing.T) {
	e := newWebEnv(t)
	p := newWebPage(t, e.base)
	printName := sname("web-print")
	tuiName := sname("web-tui")
	liveName := sname("web-live")
	repo, _ := userRepo(t, map[string]string{"README.md": "project\n"})

	t.Run("login", func(t *testing.T) {
		p.t = t
		u := e.loginURL(t)
		resp, err := chromedp.Run(p.ctx, chromedp.NavigateResponse(u))
		if err != nil {
			t.Fatal(err)
		}
		// The token leaves the address bar: the login page stores the
		// session token and replaces itself with /.
		loc, _ := chromedp.Run(p.ctx, chromedp.Location())
		if resp.Status != 200 || strings.Contains(loc, "token=") {
			t.Fatalf("after the login: status %d at %s", resp.Status, loc)
		}
		p.waitView("sessions")
		p.wait("the empty session list", `document.querySelector("#sessions-empty") !== null`)
		screenshot(t, p.ctx, "sessions-empty")

		// A second use of the token fails, in another browser context so it
		// is the token that is refused and not a cookie let through.
		other := newTab(t)
		resp, err = chromedp.Run(other, chromedp.NavigateResponse(u))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := chromedp.Run(other, chromedp.Text(chromedp.CSS("body")))
		if resp.Status != 401 || !strings.Contains(body, "clauderon ui") {
			t.Errorf("the token's second use: status %d, page %q; want 401 telling to run clauderon ui", resp.Status, body)
		}
		screenshot(t, other, "login-used-token")
	})

	t.Run("credential", func(t *testing.T) {
		p.t = t
		p.view("#/credential", "credential")
		p.do("typing the token",
			chromedp.SendKeys(chromedp.CSS(`form#credential input[name=token][type=password]`), webCanary),
			chromedp.Click(chromedp.CSS(`form#credential [type=submit]`)))
		fp := webCanary[len(webCanary)-4:]
		p.wait("the stored token's fingerprint", fmt.Sprintf(`document.querySelector("#credential-status [data-field=fingerprint]")?.textContent.includes(%s)`, jsString(fp)))
		keychainHolds(t, e.svc, webCanary)
		st, err := e.d.client().TokenStatus(context.Background(), "anthropic")
		if err != nil || st.Origin != api.OriginKeychain || !strings.Contains(st.Fingerprint, fp) {
			t.Errorf("the daemon's token status %+v, %v; want the stored token from the keychain", st, err)
		}
		screenshot(t, p.ctx, "credential")
		html, err := chromedp.Run(p.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		if err != nil {
			t.Fatal(err)
		}
		assertNoCanary(t, "the Credential page's HTML", html, webCanary)
		var value string
		p.eval(`document.querySelector("form#credential input[name=token]").value`, &value)
		assertNoCanary(t, "the token field after storing", value, webCanary)
		bodies := p.bodies()
		if len(bodies) < 3 {
			t.Errorf("only %d response bodies were recorded: the check would see nothing", len(bodies))
		}
		for where, b := range bodies {
			assertNoCanary(t, where, string(b), webCanary)
		}
	})

	t.Run("print session", func(t *testing.T) {
		p.t = t
		wd := workdir(t)
		p.view("#/new", "new")
		p.fill("form#new-session", map[string]string{"name": printName, "prompt": "say hello", "mode": "print", "image": e.image, "workdir": wd})
		screenshot(t, p.ctx, "new-session")
		p.do("submitting the new session", chromedp.Click(chromedp.CSS(`form#new-session button[type=submit]`)))
		p.wait("the session's detail view", fmt.Sprintf(`location.hash === %s && document.querySelector('section#session[data-name=%s]') !== null`,
			jsString("#/sessions/"+printName), jsString(printName)))
		p.wait("the fake's reply as the result", fmt.Sprintf(`document.querySelector('#session [data-field=result]')?.textContent.includes(%s)`, jsString(fakeanthropic.DefaultReply)))
		p.wait("the fake's reply in the conversation", fmt.Sprintf(`document.querySelector('#conversation')?.textContent.includes(%s)`, jsString(fakeanthropic.DefaultReply)))
		p.wait("the exited status", `/exited/.test(document.querySelector('#session [data-field=status]')?.textContent)`)
		screenshot(t, p.ctx, "session-print")
		if s, ok := findSession(listSessions(t, e.home), printName); !ok || s.Mode != session.ModePrint {
			t.Errorf("clauderon list: %v %+v, want the print session the form made", ok, s)
		}
		// The session reached the upstream with the token the page stored.
		msgs := e.fake.MessageRequests()
		if len(msgs) == 0 || msgs[len(msgs)-1].Authorization != "Bearer "+webCanary {
			t.Errorf("the fake's last request of %d does not carry the stored token", len(msgs))
		}
	})

	t.Run("interactive terminal", func(t *testing.T) {
		p.t = t
		clOK(t, e.home, "create", "--name", tuiName, "--prompt", "say hello", "--image", e.image, "--workdir", repo, "--egress", "locked")
		p.view("#/sessions/"+tuiName, "session")
		rows := `(document.querySelector("#terminal .xterm-rows")?.textContent ?? "")` + onlyText
		p.wait("Claude Code's TUI with the fake's answer", rows+`.includes("fakeAnthropicupstream")`)
		screenshot(t, p.ctx, "session-interactive")

		p.typeText(`#terminal .xterm-helper-textarea`, "typedfromthebrowser")
		p.wait("the typed text in the TUI", rows+`.includes("typedfromthebrowser")`)

		// A smaller window: the terminal fits itself and the container's
		// TTY gets the new size, as many rows as xterm.js draws.
		before := ttySize(t, tuiName)
		p.do("shrinking the window", chromedp.EmulateViewport(900, 500))
		var n int
		waitFor(t, "the container's TTY to take the browser's size", func() bool {
			p.eval(`document.querySelector("#terminal .xterm-rows").children.length`, &n)
			now := ttySize(t, tuiName)
			return now != before && strings.HasPrefix(now, fmt.Sprintf("%d ", n))
		})
		screenshot(t, p.ctx, "session-interactive-small")
		p.do("restoring the window", chromedp.EmulateViewport(1280, 900))
	})

	t.Run("diff and land", func(t *testing.T) {
		p.t = t
		agentSh(t, tuiName, "printf 'from the agent\\n' > web.txt")
		p.do("reloading", chromedp.Reload())
		p.waitView("session")
		p.wait("web.txt in the diff", `document.querySelector('#diff section[data-file="web.txt"] [data-field=adds]')?.textContent.includes("1")`)
		screenshot(t, p.ctx, "session-diff")
		p.do("landing", chromedp.Click(chromedp.CSS(`#session button[data-action=land]`)))
		branch := "clauderon/" + tuiName
		p.confirmUntil("the landed branch in the user's repository", func() bool {
			out, err := userGitErr(t, repo, "show", branch+":web.txt")
			return err == nil && out == "from the agent\n"
		})
	})

	t.Run("audit", func(t *testing.T) {
		p.t = t
		p.view("#/audit", "audit")
		p.wait("the print session's injected request", fmt.Sprintf(`[...document.querySelectorAll("#audit tr[data-audit-row]")].some(r =>
			r.querySelector("[data-field=session]")?.textContent.trim() === %s && r.querySelector("[data-field=injected]")?.textContent.includes("auth_injected"))`, jsString(printName)))
		screenshot(t, p.ctx, "audit")

		// A host outside the locked session's policy is refused at the proxy;
		// the page offers to allow it, and that reaches the daemon.
		if out, err := inSessionErr(t, tuiName, "curl", "-sS", "--max-time", "20", "https://denied-web.example/"); err == nil || !strings.Contains(out, "403") {
			t.Fatalf("a locked session's tunnel to a host not allowed: %v %q, want a 403", err, out)
		}
		p.do("reloading", chromedp.Reload())
		p.waitView("audit")
		btn := fmt.Sprintf(`#audit tr.denied button[data-action=allow-host][data-session=%s][data-host^="denied-web.example"]`, jsString(tuiName))
		p.wait("the denied host's allow button", fmt.Sprintf(`document.querySelector(%s) !== null`, jsString(btn)))
		screenshot(t, p.ctx, "audit-denied")
		p.do("allowing the host", chromedp.Click(chromedp.CSS(btn)))
		p.confirmUntil("the host in the session's egress allow list", func() bool {
			r, err := e.d.client().Egress(context.Background(), tuiName)
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range r.Allow {
				if strings.HasPrefix(h, "denied-web.example") {
					return true
				}
			}
			return false
		})
	})

	t.Run("live updates", func(t *testing.T) {
		p.t = t
		p.view("#/sessions", "sessions")
		p.eval(`window.__clauderonNoReload = 1`, nil)
		row := func(name string) string {
			return fmt.Sprintf(`document.querySelector('#sessions tr[data-session=%s]')`, jsString(name))
		}

		clOK(t, e.home, "create", "--name", liveName, "--prompt", "say hello", "--print", "--image", e.image, "--no-workdir")
		start := time.Now()
		p.waitMutation("the CLI's session in the list", row(liveName)+` !== null`)
		t.Logf("a session created by the CLI showed in the list %v after the CLI returned", time.Since(start).Round(time.Millisecond))
		p.wait("its exit in the list", `/exited/.test(`+row(liveName)+`?.querySelector("[data-field=status]")?.textContent)`)

		clOK(t, e.home, "stop", tuiName)
		start = time.Now()
		p.waitMutation("the stopped session's status", `!/running/.test(`+row(tuiName)+`?.querySelector("[data-field=status]")?.textContent ?? "running")`)
		t.Logf("clauderon stop showed in the list %v after the CLI returned", time.Since(start).Round(time.Millisecond))
		var mark int
		p.eval(`window.__clauderonNoReload ?? 0`, &mark)
		if mark != 1 {
			t.Error("the page reloaded to show the changes")
		}
		screenshot(t, p.ctx, "sessions")
	})

	t.Run("delete", func(t *testing.T) {
		p.t = t
		p.view("#/sessions/"+liveName, "session")
		p.do("deleting", chromedp.Click(chromedp.CSS(`#session button[data-action=delete]`)))
		p.confirm("delete")
		p.view("#/sessions", "sessions")
		p.wait("the deleted session's row to go", fmt.Sprintf(`document.querySelector('#sessions tr[data-session=%s]') === null`, jsString(liveName)))
		if _, ok := findSession(listSessions(t, e.home), liveName); ok {
			t.Error("clauderon list still shows the session deleted from the page")
		}
	})

	t.Run("security", func(t *testing.T) { webSecurity(t, e) })
}

// ttySize is `stty size` of the session's console, "ROWS COLS".
func ttySize(t *testing.T, name string) string {
	t.Helper()
	out, err := dockerCLI(t, "exec", session.ContainerName(name), "stty", "-F", "/dev/console", "size")
	if err != nil {
		t.Fatalf("stty size in %s: %v %s", name, err, out)
	}
	return strings.TrimSpace(out)
}
