//go:build linux

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chromedp/chromedp"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/mcpserver"
	"github.com/clauderon/clauderon/session"
)

// The issue asks that the MCP tools and the web UI work the same on either
// backend; k8s_test.go drives the cluster through the CLI only. These
// tests drive the same cluster through the other two front ends.

// podExists tells whether session name's pod is in e.ns; any answer but
// found or not found fails the test, so a broken client cannot pass for
// a deleted pod.
func (e *k8sEnv) podExists(t *testing.T, name string) bool {
	t.Helper()
	_, err := e.cs.CoreV1().Pods(e.ns).Get(context.Background(), session.ContainerName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("reading the pod of %s: %v", name, err)
	}
	return true
}

// TestK8sMCP: `clauderon mcp`, through the go-sdk client, creates a print
// session on the cluster and waits for its answer; list_sessions names
// its backend; its pod is in the namespace; a backend that does not exist
// is a tool error naming the ones that do; delete_session removes the pod.
func TestK8sMCP(t *testing.T) {
	e := newK8sEnv(t)
	// The env's daemon is running, so `clauderon mcp` is a client of it.
	m, err := startMCP(t, e.home, "2025-11-25")
	if err != nil {
		t.Fatal(err)
	}
	name := sname("kmcp")
	// No workdir argument: the tool's way of saying --no-workdir.
	var out mcpserver.CreateOutput
	m.ok(t, "create_session", map[string]any{"prompt": "say hello", "name": name, "image": e.image, "backend": api.BackendKubernetes, "timeout_seconds": 300}, &out, nil)
	if s := out.Session; !out.Finished || s.Backend != api.BackendKubernetes || s.Status != string(session.StatusExited) || s.Result == nil || s.Result.Text != fakeanthropic.DefaultReply {
		t.Fatalf("create_session on kubernetes: %+v (result %+v)", out, s.Result)
	}
	var l mcpserver.ListOutput
	m.ok(t, "list_sessions", map[string]any{}, &l, nil)
	i := slices.IndexFunc(l.Sessions, func(s mcpserver.SessionView) bool { return s.Name == name })
	if i < 0 || l.Sessions[i].Backend != api.BackendKubernetes {
		t.Errorf("list_sessions: %+v, want %s on kubernetes", l.Sessions, name)
	}
	if !e.podExists(t, name) {
		t.Errorf("no pod %s in %s for the MCP session", session.ContainerName(name), e.ns)
	}

	bad := sname("kmcp-bad")
	res := m.call(t, "create_session", map[string]any{"prompt": "say hello", "name": bad, "image": e.image, "backend": "nomad"}, nil)
	// The input schema's enum refuses it before the handler sees it; the
	// message must still say which argument and what it may be.
	if msg := resultText(res); !res.IsError || !strings.Contains(msg, "backend") || !strings.Contains(msg, "docker") || !strings.Contains(msg, "kubernetes") {
		t.Errorf("create_session with backend nomad: error %v, %q; want a tool error naming backend, docker and kubernetes", res.IsError, msg)
	}
	m.ok(t, "list_sessions", map[string]any{}, &l, nil)
	if slices.ContainsFunc(l.Sessions, func(s mcpserver.SessionView) bool { return s.Name == bad }) {
		t.Errorf("the refused create left a session %s", bad)
	}

	var d mcpserver.DeleteOutput
	m.ok(t, "delete_session", map[string]any{"name": name}, &d, nil)
	waitFor(t, "the MCP session's pod to go", func() bool { return !e.podExists(t, name) })
}

// TestK8sWebUI: the web UI's create form, with "Runs on" kubernetes, starts
// an interactive session in a pod; the list and the detail view show it
// running on kubernetes, its terminal shows Claude Code's answer through
// the pod's TTY, and Delete on the page removes the pod.
func TestK8sWebUI(t *testing.T) {
	e := newK8sEnv(t)
	// newK8sEnv's daemon serves no web UI (daemons of tests run at once
	// would meet on its port): restart it with one on a free port.
	e.d.stop()
	port := freeTCPPort(t)
	setUIPort(t, e.home, port)
	e.d = startSessDaemon(t, e.home, 0)
	w := &webEnv{sessionEnv: &sessionEnv{home: e.home, fake: e.fake, image: e.image, d: e.d}, uiPort: port, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	p := newWebPage(t, w.base)
	p.do("logging in", chromedp.Navigate(w.loginURL(t)))
	p.waitView("sessions")

	name := sname("kweb")
	p.view("#/new", "new")
	// The image through "Other…": the select offers the engine's images,
	// and the cluster's node need not share them.
	p.fill("form#new-session", map[string]string{"name": name, "prompt": "say hello", "mode": "interactive", "backend": "kubernetes",
		"image": "__other__", "image_other": e.image, "workdir": ""})
	p.do("submitting the new session", chromedp.Click(chromedp.CSS(`form#new-session button[type=submit]`)))
	p.wait("the session's detail view", fmt.Sprintf(`location.hash === %s && document.querySelector('section#session[data-name=%s]') !== null`,
		jsString("#/sessions/"+name), jsString(name)))
	p.wait("the running status", `/running/.test(document.querySelector('#session [data-field=status]')?.textContent)`)
	p.wait("Runs on: kubernetes", `[...document.querySelectorAll('#session dl.facts dt')].some(dt => dt.textContent === "Runs on" && dt.nextElementSibling?.textContent === "kubernetes")`)
	rows := `(document.querySelector("#terminal .xterm-rows")?.textContent ?? "")` + onlyText
	p.wait("Claude Code's TUI with the fake's answer, from the pod", rows+`.includes("fakeAnthropicupstream")`)
	screenshot(t, p.ctx, "k8s-session")
	if s, ok := findSession(listSessions(t, e.home), name); !ok || s.Backend != api.BackendKubernetes || s.Status != session.StatusRunning || s.Workspace != nil {
		t.Errorf("clauderon list: %v %+v, want the running kubernetes session the form made, with no workspace", ok, s)
	}
	if !e.podExists(t, name) {
		t.Fatalf("no pod %s in %s for the web UI's session", session.ContainerName(name), e.ns)
	}

	row := fmt.Sprintf(`document.querySelector('#sessions tr[data-session=%s]')`, jsString(name))
	p.view("#/sessions", "sessions")
	p.wait("the list's row: running, on kubernetes", `/running/.test(`+row+`?.querySelector("[data-field=status]")?.textContent) && `+
		row+`.querySelector("[data-field=mode]").textContent.includes("kubernetes")`)

	p.view("#/sessions/"+name, "session")
	p.do("deleting", chromedp.Click(chromedp.CSS(`#session button[data-action=delete]`)))
	p.confirm("delete")
	p.wait("the sessions view after the delete", `location.hash === "#/sessions"`)
	waitFor(t, "the web UI's session's pod to go", func() bool { return !e.podExists(t, name) })
	if _, ok := findSession(listSessions(t, e.home), name); ok {
		t.Error("clauderon list still shows the session deleted from the page")
	}
}
