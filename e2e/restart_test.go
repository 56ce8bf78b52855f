//go:build linux

package e2e

import (
	"strings"
	"testing"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// TestStartRestartKeepConversation: an interactive session running the real
// Claude Code writes a file and answers; stopped, it shows as stopped;
// started again, and later restarted, its Claude Code continues the same
// conversation (the fake sees the earlier turns in the next request) in
// the same workspace.
func TestStartRestartKeepConversation(t *testing.T) {
	e := newSessionEnv(t)
	name := sname("again")
	e.fake.SetRespond(func(body []byte) *fakeanthropic.Turn {
		m := fakeanthropic.ParseMessages(body)
		if strings.Contains(string(body), "write the file") && len(m.ToolResults()) == 0 && m.HasTool("Write") {
			return &fakeanthropic.Turn{ToolUse: &fakeanthropic.ToolUse{Name: "Write",
				Input: map[string]any{"file_path": "/workspace/kept.txt", "content": "kept\n"}}}
		}
		return nil
	})
	t.Cleanup(func() { e.fake.SetRespond(nil) })
	clOK(t, e.home, "create", "--name", name, "--prompt", "write the file", "--image", e.image, "--workdir", workdir(t))
	waitFor(t, "the agent to write its file", func() bool {
		out, _, code := cl(t, e.home, "diff", name, "--stat")
		return code == 0 && strings.Contains(out, "kept.txt")
	})
	// The answer on the TUI's screen: the turn is over, and in the
	// conversation Claude Code keeps.
	waitFor(t, "the first turn to end", func() bool {
		out, _, _ := cl(t, e.home, "logs", name)
		return strings.Contains(screenText(out), "fakeAnthropicupstream")
	})

	clOK(t, e.home, "stop", name)
	stopped := len(e.fake.MessageRequests())
	if s, _ := findSession(listSessions(t, e.home), name); s.Status != "stopped" {
		t.Fatalf("after stop: %s, want stopped", s.Status)
	}
	if out := clOK(t, e.home, "list"); !strings.Contains(out, "stopped") || strings.Contains(out, "143") {
		t.Errorf("list after stop:\n%s", out)
	}

	ask := func(what, question string) {
		t.Helper()
		p := startOnPTY(t, e.home, 40, 120, "attach", name)
		waitFor(t, "the TUI after "+what, func() bool { return strings.Contains(screenText(p.output()), "fakeAnthropicupstream") })
		before := len(e.fake.MessageRequests())
		if _, err := p.ptmx.Write([]byte(question)); err != nil {
			t.Fatal(err)
		}
		typed := strings.Join(strings.Fields(question), "")
		waitFor(t, "the question typed", func() bool { return strings.Contains(screenText(p.output()), typed) })
		if _, err := p.ptmx.Write([]byte("\r")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the question to reach the fake after "+what, func() bool {
			for _, r := range e.fake.MessageRequests()[before:] {
				if strings.Contains(string(r.Body), question) {
					// The earlier turns: the prompt, the tool call and its
					// result, the answer; not the first prompt run again.
					if n := len(fakeanthropic.ParseMessages(r.Body).Messages); n < 4 || !strings.Contains(string(r.Body), "write the file") {
						t.Fatalf("after %s, the request carries %d messages: the conversation was lost", what, n)
					}
					return true
				}
			}
			return false
		})
		p.detach(t, name)
	}

	clOK(t, e.home, "start", name)
	ask("start", "what did I ask first")
	clOK(t, e.home, "restart", name)
	if s, _ := findSession(listSessions(t, e.home), name); s.Status != "running" {
		t.Fatalf("after restart: %s, want running", s.Status)
	}
	ask("restart", "and now")
	for _, r := range e.fake.MessageRequests()[stopped:] {
		if m := fakeanthropic.ParseMessages(r.Body); len(m.Messages) == 1 && strings.Contains(string(r.Body), "write the file") {
			t.Error("starting again ran the first prompt again")
		}
	}
	out := clOK(t, e.home, "diff", name, "--stat")
	if !strings.Contains(out, "kept.txt") {
		t.Errorf("the workspace lost the file:\n%s", out)
	}
	if _, errOut, code := cl(t, e.home, "start", name); code == 0 || !strings.Contains(errOut, "restart") {
		t.Errorf("start a running session: code %d: %s", code, errOut)
	}
	if _, errOut, code := cl(t, e.home, "create", "--name", sname("w"), "--wait", "--image", e.image, "--no-workdir"); code == 0 || !strings.Contains(errOut, "--wait needs --print") {
		t.Errorf("create --wait without --print: code %d: %s", code, errOut)
	}
	clOK(t, e.home, "rm", "--force", "--discard", name)
}
