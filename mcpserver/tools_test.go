package mcpserver_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/mcpserver"
	"github.com/clauderon/clauderon/proxy"
)

// TestToolsList: every tool, with its input and output schemas (which
// compile), its description and all four annotations, as declared.
func TestToolsList(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "2026-07-28", true: "initialize handshake"}[legacy], func(t *testing.T) {
			e := newEnv(t, envOpt{legacy: legacy})
			type hints struct{ readOnly, destructive, idempotent, openWorld bool }
			want := map[string]hints{
				"create_session":     {false, false, false, true},
				"continue_session":   {false, false, false, true},
				"list_sessions":      {true, false, true, false},
				"get_session":        {true, false, true, false},
				"get_session_output": {true, false, true, false},
				"get_session_diff":   {true, false, true, false},
				"land_session":       {false, true, false, false},
				"stop_session":       {false, true, true, false},
				"delete_session":     {false, true, true, false},
				"get_audit":          {true, false, true, false},
			}
			var names []string
			for n := range e.tools {
				names = append(names, n)
			}
			slices.Sort(names)
			if len(e.tools) != len(want) {
				t.Errorf("tools %v, want the %d of the table", names, len(want))
			}
			for name, h := range want {
				tl, ok := e.tools[name]
				if !ok {
					t.Errorf("tool %s is missing", name)
					continue
				}
				a := tl.Annotations
				if a.ReadOnlyHint == nil || a.DestructiveHint == nil || a.IdempotentHint == nil || a.OpenWorldHint == nil {
					t.Errorf("%s: an annotation is unset: %+v", name, a)
					continue
				}
				if got := (hints{*a.ReadOnlyHint, *a.DestructiveHint, *a.IdempotentHint, *a.OpenWorldHint}); got != h {
					t.Errorf("%s: hints %+v, want %+v", name, got, h)
				}
				if len(tl.Description) < 80 {
					t.Errorf("%s: description %q is too thin for a model", name, tl.Description)
				}
				if tl.InputSchema.Type != "object" || tl.OutputSchema.Type != "object" {
					t.Errorf("%s: schemas %q / %q, want objects", name, tl.InputSchema.Type, tl.OutputSchema.Type)
				}
				compile(t, name+"-in", tl.InputSchema)
				compile(t, name+"-out", tl.OutputSchema)
			}
			if r := e.tools["create_session"].InputSchema.Required; !slices.Equal(r, []string{"prompt"}) {
				t.Errorf("create_session requires %v, want only prompt", r)
			}
		})
	}
}

// TestCreatePrintWait: a print session created with wait returns its
// result as structured content, and progress notifications come for the
// image check, the container's start and the wait.
func TestCreatePrintWait(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(map[bool]string{false: "2026-07-28", true: "initialize handshake"}[legacy], func(t *testing.T) {
			e := newEnv(t, envOpt{legacy: legacy})
			var out mcpserver.CreateOutput
			e.ok(t, "create_session", map[string]any{"prompt": "say hi", "name": "p1"}, &out, &mcp.Meta{ProgressToken: "tok-1"})
			s := out.Session
			if !out.Finished || s.Status != "exited" || s.ExitCode == nil || *s.ExitCode != 0 || s.Mode != "print" {
				t.Errorf("session %+v finished %v, want exited 0 in print mode", s, out.Finished)
			}
			if s.Result == nil || s.Result.Text != "echo: say hi" || s.Result.NumTurns != 1 || s.Result.CostUSD != 0.0123 || s.Result.DurationMS != 42 {
				t.Errorf("result %+v", s.Result)
			}
			if s.Activity == nil || s.Activity.State != "exited" {
				t.Errorf("activity %+v, want the ended session's status", s.Activity)
			}
			var msgs []string
			for _, n := range e.notifications(string(mcp.MethodNotificationProgress)) {
				if n.Params.AdditionalFields["progressToken"] != "tok-1" {
					t.Errorf("progress with token %v", n.Params.AdditionalFields["progressToken"])
				}
				msgs = append(msgs, n.Params.AdditionalFields["message"].(string))
			}
			all := strings.Join(msgs, "\n")
			for _, w := range []string{"checking the image", "starting the container", "waiting for it to finish"} {
				if !strings.Contains(all, w) {
					t.Errorf("progress messages %q lack %q", msgs, w)
				}
			}

			// Without a token, no progress; a generated name is valid.
			before := len(e.notifications(string(mcp.MethodNotificationProgress)))
			e.ok(t, "create_session", map[string]any{"prompt": "Fix the flaky test!"}, &out)
			if !strings.HasPrefix(out.Session.Name, "fix-the-flaky-") {
				t.Errorf("generated name %q", out.Session.Name)
			}
			if n := len(e.notifications(string(mcp.MethodNotificationProgress))); n != before {
				t.Errorf("%d progress notifications without a token", n-before)
			}

			var l mcpserver.ListOutput
			e.ok(t, "list_sessions", map[string]any{}, &l)
			if len(l.Sessions) != 2 {
				t.Errorf("list: %+v", l.Sessions)
			}
			e.ok(t, "list_sessions", map[string]any{"status": "running"}, &l)
			if len(l.Sessions) != 0 {
				t.Errorf("list running: %+v", l.Sessions)
			}
			var g mcpserver.GetOutput
			e.ok(t, "get_session", map[string]any{"name": "p1", "output_lines": 1}, &g)
			if len(g.OutputTail) != 1 || !strings.Contains(g.OutputTail[0], `"type":"result"`) || g.Session.Result == nil {
				t.Errorf("get_session: %+v", g)
			}

			var d mcpserver.DeleteOutput
			e.ok(t, "delete_session", map[string]any{"name": "p1"}, &d)
			e.fails(t, "get_session", map[string]any{"name": "p1"}, `no session named "p1"`, "list_sessions")
		})
	}
}

// TestContinue: a finished print session takes a further turn that resumes
// its conversation, with the new turn's result and the turns counted; one
// that cannot take one says why, and so does bad input.
func TestContinue(t *testing.T) {
	e := newEnv(t, envOpt{})
	var out mcpserver.CreateOutput
	e.ok(t, "create_session", map[string]any{"prompt": "first", "name": "c1"}, &out)
	if out.Session.Turns != 1 {
		t.Errorf("a new print session has %d turns, want 1", out.Session.Turns)
	}
	e.ok(t, "continue_session", map[string]any{"name": "c1", "prompt": "second"}, &out, &mcp.Meta{ProgressToken: "tok-c"})
	s := out.Session
	if !out.Finished || s.Status != "exited" || s.Turns != 2 || s.Result == nil || s.Result.Text != "echo (resumed fake): second" {
		t.Errorf("continued: %+v, result %+v", out, s.Result)
	}
	if !strings.Contains(out.Next, "continue_session") {
		t.Errorf("next %q does not offer a further turn", out.Next)
	}
	var msgs []string
	for _, n := range e.notifications(string(mcp.MethodNotificationProgress)) {
		msgs = append(msgs, n.Params.AdditionalFields["message"].(string))
	}
	if all := strings.Join(msgs, "\n"); !strings.Contains(all, "further turn") || !strings.Contains(all, "waiting for it to finish") {
		t.Errorf("progress %q", msgs)
	}
	var o mcpserver.OutputPage
	e.ok(t, "get_session_output", map[string]any{"name": "c1"}, &o)
	if !strings.Contains(o.Output, "echo: first") || !strings.Contains(o.Output, "echo (resumed fake): second") {
		t.Errorf("the output lacks a turn: %q", o.Output)
	}
	e.ok(t, "continue_session", map[string]any{"name": "c1", "prompt": "hang on", "wait": false}, &out)
	if out.Session.Status != "running" || out.Session.Turns != 3 {
		t.Errorf("continue without wait: %+v", out.Session)
	}
	e.fails(t, "continue_session", map[string]any{"name": "c1", "prompt": "again"}, "still running its turn", "get_session")

	e.ok(t, "create_session", map[string]any{"prompt": "x", "name": "i1", "mode": "interactive", "wait": false}, &out)
	e.fails(t, "continue_session", map[string]any{"name": "i1", "prompt": "x"}, "is running", "attach")
	e.fails(t, "continue_session", map[string]any{"name": "nope", "prompt": "x"}, `no session named "nope"`, "list_sessions")
	e.fails(t, "continue_session", map[string]any{"name": "c1"}, "prompt", "")
	e.fails(t, "continue_session", map[string]any{"name": "c1", "prompt": "   "}, "prompt is required", "")
	e.fails(t, "continue_session", map[string]any{"name": "Bad Name", "prompt": "x"}, "name", "")
}

// TestBadInput: whatever the input, a known tool answers with a tool
// error saying what to change, and the server keeps serving.
func TestBadInput(t *testing.T) {
	e := newEnv(t, envOpt{})
	huge := strings.Repeat("x", 200<<10)
	for _, tc := range []struct {
		name, tool string
		args       any
		want       string
	}{
		{"missing prompt", "create_session", map[string]any{"name": "a"}, "prompt"},
		{"prompt of the wrong type", "create_session", map[string]any{"prompt": 12}, "prompt"},
		{"huge prompt", "create_session", map[string]any{"prompt": huge}, "prompt"},
		{"blank prompt", "create_session", map[string]any{"prompt": "  "}, "prompt is required"},
		{"bad name", "create_session", map[string]any{"prompt": "p", "name": "Bad Name"}, "name"},
		{"unknown argument", "create_session", map[string]any{"prompt": "p", "privileged": true}, "privileged"},
		{"bad mode", "create_session", map[string]any{"prompt": "p", "mode": "root"}, "mode"},
		{"interactive wait", "create_session", map[string]any{"prompt": "p", "mode": "interactive", "wait": true}, "wait: false"},
		{"relative workdir", "create_session", map[string]any{"prompt": "p", "workdir": "proj"}, "absolute path"},
		{"from without workdir", "create_session", map[string]any{"prompt": "p", "from": "main"}, "from needs workdir"},
		{"missing image", "create_session", map[string]any{"prompt": "p", "image": "missing:1"}, "clauderon image build"},
		{"timeout too long", "create_session", map[string]any{"prompt": "p", "timeout_seconds": 99999}, "timeout_seconds"},
		{"unknown session", "get_session", map[string]any{"name": "nobody"}, "list_sessions"},
		{"missing name", "get_session", map[string]any{}, "name"},
		{"huge name", "get_session", map[string]any{"name": huge}, "name"},
		{"bad cursor", "get_session_output", map[string]any{"name": "nobody", "cursor": "!!"}, "cursor"},
		{"bad format", "get_session_diff", map[string]any{"name": "nobody", "format": "xml"}, "format"},
		{"land unknown", "land_session", map[string]any{"name": "nobody", "confirm": true}, "list_sessions"},
		{"stop unknown", "stop_session", map[string]any{"name": "nobody"}, "list_sessions"},
		{"delete unknown", "delete_session", map[string]any{"name": "nobody"}, "list_sessions"},
		{"audit unknown", "get_audit", map[string]any{"name": "nobody"}, "list_sessions"},
		{"audit limit", "get_audit", map[string]any{"name": "a", "limit": 5000}, "limit"},
		{"list bad status", "list_sessions", map[string]any{"status": "zombie"}, "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := e.fails(t, tc.tool, tc.args, tc.want)
			t.Logf("%s", msg)
			if len(msg) > 4<<10 {
				t.Errorf("the error echoes %d bytes back", len(msg))
			}
		})
	}
	var l mcpserver.ListOutput
	e.ok(t, "list_sessions", nil, &l)
}

// TestUnknownTool: an unknown tool is the protocol's invalid-params
// answer (the spec's, not a tool of ours failing), and the server goes on.
func TestUnknownTool(t *testing.T) {
	e := newEnv(t, envOpt{})
	req := mcp.CallToolRequest{}
	req.Params.Name = "resume_session"
	_, err := e.mcp.CallTool(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown tool: %v, want a not-found error", err)
	}
	var l mcpserver.ListOutput
	e.ok(t, "list_sessions", nil, &l)
}

// TestTimeoutStop: a wait that times out returns the running session, not
// an error; stop ends it; a stopped session can be stopped again.
func TestTimeoutStop(t *testing.T) {
	e := newEnv(t, envOpt{})
	var out mcpserver.CreateOutput
	e.ok(t, "create_session", map[string]any{"prompt": "hang around", "name": "h", "timeout_seconds": 1}, &out)
	if !out.TimedOut || out.Finished || out.Session.Status != "running" || !strings.Contains(out.Next, "get_session") {
		t.Errorf("timed-out create: %+v", out)
	}
	var st mcpserver.StopOutput
	e.ok(t, "stop_session", map[string]any{"name": "h"}, &st)
	var g mcpserver.GetOutput
	until(t, "the stop to be seen", func() bool {
		e.ok(t, "get_session", map[string]any{"name": "h"}, &g)
		return g.Session.Status == "stopped"
	})
	if g.Session.ExitCode == nil || *g.Session.ExitCode != 143 {
		t.Errorf("after stop: %+v", g.Session)
	}
	e.ok(t, "stop_session", map[string]any{"name": "h"}, &st)

	// A session created without waiting.
	e.ok(t, "create_session", map[string]any{"prompt": "hang on", "name": "nw", "wait": false}, &out)
	if out.Finished || out.TimedOut || out.Session.Status != "running" {
		t.Errorf("create without wait: %+v", out)
	}
}

// TestOutputEscapedAndPaged: what a container printed comes back with
// its escapes made visible, and in pages that join up to the whole.
func TestOutputEscapedAndPaged(t *testing.T) {
	e := newEnv(t, envOpt{})
	long := "escape " + strings.Repeat("lorem ipsum ", 300)
	var out mcpserver.CreateOutput
	e.ok(t, "create_session", map[string]any{"prompt": long, "name": "esc"}, &out)
	res := e.call(t, "get_session", map[string]any{"name": "esc"})
	raw, _ := json.Marshal(res)
	for _, bad := range []string{`\u001b`, "\x1b", "\u202e"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("get_session's answer carries %q", bad)
		}
	}
	if !strings.Contains(out.Session.Result.Text, `\x1b[31m`) || !strings.Contains(out.Session.Result.Text, `\u202e`) {
		t.Errorf("the result text does not show the escapes: %q", out.Session.Result.Text)
	}

	var whole strings.Builder
	cursor := ""
	pages := 0
	for {
		var p mcpserver.OutputPage
		args := map[string]any{"name": "esc", "max_bytes": 1024}
		if cursor != "" {
			args["cursor"] = cursor
		}
		e.ok(t, "get_session_output", args, &p)
		if strings.Contains(p.Output, "\x1b") {
			t.Error("a page carries a raw escape")
		}
		whole.WriteString(p.Output)
		pages++
		if p.NextCursor == "" {
			break
		}
		if pages > 100 {
			t.Fatal("the pages never end")
		}
		cursor = p.NextCursor
	}
	if pages < 3 || !strings.Contains(whole.String(), `"type":"result"`) || strings.Count(whole.String(), "lorem ipsum") < 300 {
		t.Errorf("%d pages, %d bytes", pages, whole.Len())
	}
	e.fails(t, "get_session_output", map[string]any{"name": "other", "cursor": cursor}, "pages session")
}

// TestDiffLand: the workspace's work shows in the diff; delete refuses it
// unlanded; land asks the user through elicitation when the client can
// (both protocol eras), needs confirm: true when it cannot, and is
// refused when the user declines.
func TestDiffLand(t *testing.T) {
	for _, tc := range []struct {
		name    string
		legacy  bool
		elicit  bool
		answer  mcp.ElicitationResponseAction
		confirm bool
		want    string // "" lands
	}{
		{"no elicitation", false, false, "", false, "confirm: true"},
		{"no elicitation, confirmed", false, false, "", true, ""},
		{"modern accepted", false, true, mcp.ElicitationResponseActionAccept, false, ""},
		{"modern declined", false, true, mcp.ElicitationResponseActionDecline, false, "did not confirm"},
		{"legacy accepted", true, true, mcp.ElicitationResponseActionAccept, false, ""},
		{"legacy declined", true, true, mcp.ElicitationResponseActionDecline, false, "did not confirm"},
		// The agent cannot answer for a user its client can ask.
		{"modern declined, confirm: true", false, true, mcp.ElicitationResponseActionDecline, true, "did not confirm"},
		{"legacy declined, confirm: true", true, true, mcp.ElicitationResponseActionDecline, true, "did not confirm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			o := envOpt{legacy: tc.legacy}
			if tc.elicit {
				o.elicit = elicitFunc(func(_ context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
					asked = append(asked, r.Params.Message)
					res := &mcp.ElicitationResult{}
					res.Action = tc.answer
					if tc.answer == mcp.ElicitationResponseActionAccept {
						res.Content = map[string]any{"confirm": true}
					}
					return res, nil
				})
			}
			e := newEnv(t, o)
			repo := gitRepo(t)
			var out mcpserver.CreateOutput
			e.ok(t, "create_session", map[string]any{"prompt": "write notes.txt", "name": "w", "workdir": repo}, &out)
			if out.Session.Workspace == nil || !out.Session.Workspace.Git {
				t.Fatalf("workspace %+v", out.Session.Workspace)
			}
			var d mcpserver.DiffOutput
			e.ok(t, "get_session_diff", map[string]any{"name": "w"}, &d)
			if len(d.Files) != 1 || d.Files[0].Path != "notes.txt" || d.Files[0].Status != "added" || d.Patch != "" || d.Tree == "" {
				t.Errorf("stat diff: %+v", d)
			}
			e.ok(t, "get_session_diff", map[string]any{"name": "w", "format": "full"}, &d)
			if !strings.Contains(d.Patch, "+made by the agent") {
				t.Errorf("full diff patch %q", d.Patch)
			}
			var g mcpserver.GetOutput
			e.ok(t, "get_session", map[string]any{"name": "w"}, &g)
			if g.Session.Changes == nil || !g.Session.Changes.Unlanded || g.Session.Changes.Files != 1 {
				t.Errorf("get_session changes: %+v", g.Session.Changes)
			}
			e.fails(t, "delete_session", map[string]any{"name": "w"}, "land_session", "discard: true")

			// A branch that could dress up the question is refused before
			// anyone is asked.
			e.fails(t, "land_session", map[string]any{"name": "w", "tree": d.Tree, "confirm": true, "branch": "ok?\n\x1b[2J\u202eread-only"}, "branch")
			if len(asked) != 0 {
				t.Errorf("the user was asked about a bad branch: %q", asked)
			}
			args := map[string]any{"name": "w", "tree": d.Tree}
			if tc.confirm {
				args["confirm"] = true
			}
			if tc.want != "" {
				e.fails(t, "land_session", args, tc.want)
				if err := exec.Command("git", "-C", repo, "rev-parse", "--verify", "clauderon/w").Run(); err == nil {
					t.Error("the branch was made all the same")
				}
			} else {
				var l mcpserver.LandOutput
				e.ok(t, "land_session", args, &l)
				if l.Branch != "clauderon/w" || l.Commit == "" {
					t.Errorf("land: %+v", l)
				}
				if b, err := exec.Command("git", "-C", repo, "show", "clauderon/w:notes.txt").Output(); err != nil || string(b) != "made by the agent\n" {
					t.Errorf("the landed branch's notes.txt: %q %v", b, err)
				}
				var del mcpserver.DeleteOutput
				e.ok(t, "delete_session", map[string]any{"name": "w"}, &del)
			}
			if tc.elicit && len(asked) != 1 {
				t.Errorf("the user was asked %d times: %q", len(asked), asked)
			}
			if tc.elicit && !strings.Contains(asked[0], "clauderon/w") {
				t.Errorf("the question %q does not name the branch", asked[0])
			}
		})
	}
}

type elicitFunc func(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error)

func (f elicitFunc) Elicit(ctx context.Context, r mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	return f(ctx, r)
}

var _ mcpclient.ElicitationHandler = elicitFunc(nil)

func gitRepo(t *testing.T) string {
	t.Helper()
	// t.TempDir's name holds the test's, whose ',' cannot be mounted.
	dir, err := os.MkdirTemp("", "mcp-repo")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "start"},
	} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAudit: get_audit shows the session's proxied requests, newest first.
func TestAudit(t *testing.T) {
	e := newEnv(t, envOpt{})
	var out mcpserver.CreateOutput
	e.ok(t, "create_session", map[string]any{"prompt": "say hi", "name": "au"}, &out)
	f, err := os.OpenFile(filepath.Join(e.home, proxy.AuditFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"/v1/messages", "/v1/other"} {
		b, _ := json.Marshal(proxy.AuditEntry{Session: "au", Host: "api.anthropic.com:443", Method: "POST", Path: p, Status: 200 + i, AuthInjected: i == 0, Intercepted: true})
		f.Write(append(b, '\n'))
	}
	f.Close()
	var a mcpserver.AuditOutput
	e.ok(t, "get_audit", map[string]any{"name": "au", "limit": 10}, &a)
	if len(a.Entries) != 2 || a.Entries[0].Path != "/v1/other" || !a.Entries[1].AuthInjected {
		t.Errorf("audit: %+v", a.Entries)
	}
}

// TestResource: a session reads as clauderon://sessions/NAME.
func TestResource(t *testing.T) {
	e := newEnv(t, envOpt{})
	var out mcpserver.CreateOutput
	e.ok(t, "create_session", map[string]any{"prompt": "say hi", "name": "r"}, &out)
	req := mcp.ReadResourceRequest{}
	req.Params.URI = "clauderon://sessions/r"
	res, err := e.mcp.ReadResource(context.Background(), req)
	if err != nil || len(res.Contents) != 1 {
		t.Fatalf("read: %v %v", res, err)
	}
	var v mcpserver.SessionView
	if err := json.Unmarshal([]byte(res.Contents[0].(mcp.TextResourceContents).Text), &v); err != nil || v.Name != "r" || v.Result == nil {
		t.Errorf("resource: %+v %v", v, err)
	}
	req.Params.URI = "clauderon://sessions/nobody"
	if _, err := e.mcp.ReadResource(context.Background(), req); err == nil || !strings.Contains(err.Error(), "nobody") {
		t.Errorf("unknown resource: %v", err)
	}
}

// TestDaemonAndEngineDown: an unreachable daemon and a stopped engine are
// tool errors that say what to do.
func TestDaemonAndEngineDown(t *testing.T) {
	gone := newEnv(t, envOpt{apiFunc: func(string) *client.Client {
		return &client.Client{Socket: filepath.Join(t.TempDir(), "none.sock")}
	}})
	gone.fails(t, "list_sessions", nil, "daemon is not running", "clauderon daemon")
	gone.fails(t, "create_session", map[string]any{"prompt": "p"}, "daemon is not running")

	e := newEnv(t, envOpt{})
	e.engine.setDown(true)
	e.fails(t, "create_session", map[string]any{"prompt": "p"}, "container engine")
}

// until polls cond; the test's deadline bounds it.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if dl, ok := t.Deadline(); ok && time.Until(dl) < 5*time.Second {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
