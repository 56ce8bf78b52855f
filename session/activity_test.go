package session

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
)

// newGatewayHarness is a manager whose sessions run behind a gateway, as
// the daemon's on Linux, with a clock the test moves.
func newGatewayHarness(t *testing.T, now func() time.Time) *harness {
	t.Helper()
	h := &harness{home: t.TempDir(), be: newFakeBackend(), auth: &fakeAuth{m: map[string]Secret{}}}
	m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler), Now: now,
		Container: ContainerConfig{Gateway: &fakeGateway{open: map[string]int{}}, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	t.Cleanup(func() { h.m.FlushUsage() }) // before the home is removed
	return h
}

func activityOf(t *testing.T, m *Manager, name string) api.Activity {
	t.Helper()
	s, err := m.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	if s.Activity == nil {
		t.Fatalf("session %s has no activity", name)
	}
	return *s.Activity
}

// TestActivityFromHooks: each hook event moves the state; a session whose
// hooks never reported has the engine's state and says it is unknown; a
// lifecycle change forgets what the hooks said; it is never in the state
// file.
func TestActivityFromHooks(t *testing.T) {
	h := newGatewayHarness(t, time.Now)
	h.run(t)
	s, err := h.m.Create(context.Background(), Options{Name: "a", Prompt: "hi", Mode: ModeInteractive})
	if err != nil {
		t.Fatal(err)
	}
	if a := activityOf(t, h.m, "a"); a.Known || a.State != api.ActivityRunning || a.Source != api.ActivityFromEngine {
		t.Errorf("before any hook: %+v; want running, unknown, from the engine", a)
	}
	steps := []struct {
		rep  api.HookReport
		want api.ActivityState
		tool string
	}{
		{api.HookReport{Event: "SessionStart"}, api.ActivityIdle, ""},
		{api.HookReport{Event: "UserPromptSubmit"}, api.ActivityWorking, ""},
		{api.HookReport{Event: "PreToolUse", Tool: "Bash"}, api.ActivityWorking, "Bash"},
		{api.HookReport{Event: "PostToolUse", Tool: "Bash"}, api.ActivityWorking, ""},
		{api.HookReport{Event: "PreToolUse", Tool: "mcp__clauderon__create_session"}, api.ActivityWorking, "mcp__clauderon__create_session"},
		{api.HookReport{Event: "Notification", Notification: "permission_prompt"}, api.ActivityWaitingPerm, ""},
		{api.HookReport{Event: "Notification", Notification: "auth_success"}, api.ActivityWaitingPerm, ""},
		{api.HookReport{Event: "Stop"}, api.ActivityWaitingInput, ""},
		{api.HookReport{Event: "Notification", Notification: "idle_prompt"}, api.ActivityIdle, ""},
	}
	for _, st := range steps {
		if err := h.m.ReportHook("a", st.rep); err != nil {
			t.Fatalf("%+v: %v", st.rep, err)
		}
		a := activityOf(t, h.m, "a")
		if a.State != st.want || a.Tool != st.tool || !a.Known || a.Source != api.ActivityFromHooks {
			t.Errorf("after %+v: %+v; want %s tool %q, known, from hooks", st.rep, a, st.want, st.tool)
		}
	}
	if l := h.m.List(); len(l) != 1 || l[0].Activity == nil || l[0].Activity.State != api.ActivityIdle {
		t.Errorf("list: %+v", l)
	}
	b, err := os.ReadFile(filepath.Join(h.home, "sessions", "a", stateFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "idle") || strings.Contains(string(b), "Bash") {
		t.Errorf("the activity is in the state file: %s", b)
	}
	h.be.exit(s.ContainerID, 0)
	if _, err := h.m.Wait(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if a := activityOf(t, h.m, "a"); a.State != api.ActivityState(StatusExited) || a.Source != api.ActivityFromEngine {
		t.Errorf("exited: %+v", a)
	}
	if err := h.m.ReportHook("a", api.HookReport{Event: "Stop"}); !errors.Is(err, ErrState) {
		t.Errorf("a hook of an exited session: %v; want ErrState", err)
	}
}

// TestActivitySurvivesRestart: a daemon that restarts still shows what the
// hooks last said (who waits for input), unless the file is of an earlier
// run or damaged; once the session ends the file is gone.
func TestActivitySurvivesRestart(t *testing.T) {
	h := newGatewayHarness(t, time.Now)
	h.run(t)
	s, err := h.m.Create(context.Background(), Options{Name: "a", Prompt: "hi", Mode: ModeInteractive})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReportHook("a", api.HookReport{Event: "PreToolUse", Tool: "Bash"}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReportHook("a", api.HookReport{Event: "Stop"}); err != nil {
		t.Fatal(err)
	}
	var last *Manager
	reopen := func() *Manager {
		t.Helper()
		h.m.FlushUsage() // its writes are as good as done; a test cannot wait on them otherwise
		if last != nil {
			last.FlushUsage()
		}
		m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler), Now: time.Now,
			Container: ContainerConfig{Gateway: &fakeGateway{open: map[string]int{}}, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
		last = m
		return m
	}
	m := reopen()
	if a := activityOf(t, m, "a"); a.State != api.ActivityWaitingInput || !a.Known || a.Source != api.ActivityFromHooks {
		t.Errorf("after a restart: %+v; want waiting_for_input from the hooks", a)
	}
	// The hooks of the new daemon go on from there.
	if err := m.ReportHook("a", api.HookReport{Event: "UserPromptSubmit"}); err != nil {
		t.Fatal(err)
	}
	if a := activityOf(t, reopen(), "a"); a.State != api.ActivityWorking {
		t.Errorf("after a report and another restart: %+v; want working", a)
	}

	file := filepath.Join(h.home, "sessions", "a", activityFile)
	for _, tc := range []struct{ name, body string }{
		{"an earlier run", `{"state":"waiting_for_input","since":"2026-01-01T00:00:00Z","run_started_at":"2001-01-01T00:00:00Z"}`},
		{"a damaged file", `{"state":`},
		{"an unknown state", `{"state":"exited","since":"2026-01-01T00:00:00Z","run_started_at":"` + s.StartedAt.Format(time.RFC3339Nano) + `"}`},
		{"a bad tool", `{"state":"working","tool":"Bash\u001b[2J","since":"2026-01-01T00:00:00Z","run_started_at":"` + s.StartedAt.Format(time.RFC3339Nano) + `"}`},
	} {
		if err := os.WriteFile(file, []byte(tc.body), 0o600); err != nil {
			t.Fatal(err)
		}
		if a := activityOf(t, reopen(), "a"); a.Known || a.Source != api.ActivityFromEngine {
			t.Errorf("%s: %+v; want unknown, from the engine", tc.name, a)
		}
	}

	// h.m follows the engine; its hooks' file goes with the run.
	if err := h.m.ReportHook("a", api.HookReport{Event: "Stop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	h.be.exit(s.ContainerID, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := h.m.Wait(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	h.m.FlushUsage()
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the activity file outlived the run: %v", err)
	}
}

// TestReportHookRefuses: what the container sends is checked, and a
// refused report changes nothing.
func TestReportHookRefuses(t *testing.T) {
	h := newGatewayHarness(t, time.Now)
	if _, err := h.m.Create(context.Background(), Options{Name: "a", Prompt: "hi", Mode: ModeInteractive}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.ReportHook("a", api.HookReport{Event: "PreToolUse", Tool: "Read"}); err != nil {
		t.Fatal(err)
	}
	for _, rep := range []api.HookReport{
		{Event: "PreToolUse", Tool: strings.Repeat("x", api.MaxToolName+1)},
		{Event: "PreToolUse", Tool: "Bash\x1b]0;pwned\x07"},
		{Event: "PreToolUse", Tool: "Bash\nworking: Read"},
		{Event: "PreToolUse", Tool: "Bash é"},
		{Event: "Stop\x1b[2J"},
		{Event: "Whatever"},
		{Event: ""},
		{Event: "Notification", Notification: "Permission\x1b"},
	} {
		err := h.m.ReportHook("a", rep)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v; want ErrInvalid", rep, err)
		}
		if a := activityOf(t, h.m, "a"); a.State != api.ActivityWorking || a.Tool != "Read" {
			t.Errorf("after refusing %q: %+v", rep, a)
		}
	}
	if err := h.m.ReportHook("nobody", api.HookReport{Event: "Stop"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("an unknown session: %v", err)
	}
	// At the longest name it is kept whole.
	long := strings.Repeat("x", api.MaxToolName)
	if err := h.m.ReportHook("a", api.HookReport{Event: "PreToolUse", Tool: long}); err != nil {
		t.Fatal(err)
	}
	if a := activityOf(t, h.m, "a"); a.Tool != long {
		t.Errorf("tool %q", a.Tool)
	}
}

// TestReportHookRateLimit: a session flooding its hook is refused past its
// burst until time refills it; another session is not affected.
func TestReportHookRateLimit(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	h := newGatewayHarness(t, func() time.Time { return now })
	for _, n := range []string{"a", "b"} {
		if _, err := h.m.Create(context.Background(), Options{Name: n, Prompt: "hi", Mode: ModeInteractive}); err != nil {
			t.Fatal(err)
		}
	}
	var limited int
	for i := 0; i < 2*hookBurst; i++ {
		if err := h.m.ReportHook("a", api.HookReport{Event: "Stop"}); errors.Is(err, ErrRateLimited) {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited != hookBurst {
		t.Errorf("%d of %d refused; want %d", limited, 2*hookBurst, hookBurst)
	}
	if err := h.m.ReportHook("b", api.HookReport{Event: "Stop"}); err != nil {
		t.Errorf("another session: %v", err)
	}
	now = now.Add(time.Second)
	if err := h.m.ReportHook("a", api.HookReport{Event: "SessionStart"}); err != nil {
		t.Errorf("a second later: %v", err)
	}
}

// TestActivityEvents: a hook's change reaches the event stream, and one
// that changes nothing does not.
func TestActivityEvents(t *testing.T) {
	h := newGatewayHarness(t, time.Now)
	if _, err := h.m.Create(context.Background(), Options{Name: "a", Prompt: "hi", Mode: ModeInteractive}); err != nil {
		t.Fatal(err)
	}
	sub := h.m.Subscribe(SubscribeOptions{})
	defer sub.Close()
	ctx := context.Background()
	if e, err := sub.Next(ctx); err != nil || e.Kind != EventSnapshot || len(e.Sessions) != 1 || e.Sessions[0].Activity == nil {
		t.Fatalf("snapshot %+v %v", e, err)
	}
	for _, rep := range []api.HookReport{{Event: "PreToolUse", Tool: "Bash"}, {Event: "PreToolUse", Tool: "Bash"}, {Event: "Stop"}} {
		if err := h.m.ReportHook("a", rep); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"working Bash", "waiting_for_input "} {
		e, err := sub.Next(ctx)
		if err != nil || e.Kind != EventActivity || e.Name != "a" {
			t.Fatalf("event %+v %v", e, err)
		}
		var a api.Activity
		if err := json.Unmarshal(e.Activity, &a); err != nil {
			t.Fatal(err)
		}
		if got := string(a.State) + " " + a.Tool; got != want {
			t.Errorf("event %q; want %q", got, want)
		}
	}
}

// TestHookSettingsMount: a gateway session's container gets the hook
// settings read-only in Claude Code's managed drop-in directory, running
// the mounted binary's hook command at each event.
func TestHookSettingsMount(t *testing.T) {
	h := newGatewayHarness(t, time.Now)
	s, err := h.m.Create(context.Background(), Options{Name: "a", Prompt: "hi", Mode: ModePrint})
	if err != nil {
		t.Fatal(err)
	}
	var src string
	for _, mt := range h.be.specs[s.ContainerID].Mounts {
		if mt.Target == ContainerHookFile {
			if !mt.ReadOnly {
				t.Error("the hook settings are mounted writable")
			}
			src = mt.Source
		}
	}
	if src == "" {
		t.Fatal("no hook settings mounted")
	}
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Hooks map[string][]struct {
			Hooks []struct{ Type, Command string }
		}
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	for _, ev := range hookEvents {
		hs := cfg.Hooks[ev]
		if len(hs) != 1 || len(hs[0].Hooks) != 1 || hs[0].Hooks[0].Command != "/opt/clauderon/bin/clauderon hook "+ev {
			t.Errorf("%s: %+v", ev, hs)
		}
	}
}
