package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/session"
)

// TestMCPClaudeCodeCaller: the real Claude Code, set up with `clauderon mcp
// setup claude-code --write`, is the MCP caller. The fake upstream answers
// its first turn with a tool_use of create_session; Claude Code calls the
// tool through `clauderon mcp`; the child session runs in a real container
// and returns the fake's reply; Claude Code sends that back to the fake as
// the tool result, and prints the fake's final answer.
func TestMCPClaudeCodeCaller(t *testing.T) {
	claude := claudeBinary(t)
	e := newSessionEnv(t)
	child := sname("mcp-child")
	const tool = "mcp__clauderon__create_session"
	var mu sync.Mutex
	var offered bool
	var results []string
	e.fake.SetRespond(func(body []byte) *fakeanthropic.Turn {
		m := fakeanthropic.ParseMessages(body)
		if !m.HasTool(tool) {
			return nil // the child, and Claude Code's side requests
		}
		mu.Lock()
		defer mu.Unlock()
		offered = true
		if r := m.ToolResults(); len(r) > 0 {
			results = append(results, r...)
			return &fakeanthropic.Turn{Text: "the parent got its child's answer"}
		}
		return &fakeanthropic.Turn{ToolUse: &fakeanthropic.ToolUse{Name: tool, Input: map[string]any{
			"name": child, "prompt": "say hello", "image": e.image, "mode": "print", "wait": true, "timeout_seconds": 180,
		}}}
	})

	out := clOK(t, e.home, "mcp", "setup", "claude-code", "--write")
	if !strings.Contains(out, ".claude.json") {
		t.Errorf("mcp setup --write said %q", out)
	}
	var cfg struct {
		MCPServers map[string]struct {
			Type    string            `json:"type"`
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcpServers"`
	}
	b, err := os.ReadFile(filepath.Join(e.home, ".claude.json"))
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.MCPServers["clauderon"]; s.Command != binary || len(s.Args) != 1 || s.Args[0] != "mcp" || s.Env["CLAUDERON_HOME"] != e.home {
		t.Fatalf("the entry written: %+v", s)
	}

	env := baseEnv(e.home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1", "DISABLE_AUTOUPDATER=1", "MCP_TIMEOUT=60000", "MCP_TOOL_TIMEOUT=300000",
		// MCP tools in the request itself, not behind the ToolSearch tool.
		"ENABLE_TOOL_SEARCH=false")
	stdout, stderr, code := runClauderon(t, env, "", "exec", "--", claude, "--print", "start a child session that says hello", "--allowedTools", tool)
	if code != 0 {
		t.Fatalf("claude through exec: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "the parent got its child's answer") {
		t.Errorf("Claude Code printed %q", stdout)
	}
	mu.Lock()
	defer mu.Unlock()
	if !offered {
		for _, r := range e.fake.MessageRequests() {
			var names []string
			for _, tl := range fakeanthropic.ParseMessages(r.Body).Tools {
				names = append(names, tl.Name)
			}
			t.Logf("a request offered %v", names)
		}
		b, _ := os.ReadFile(filepath.Join(e.home, "mcp.log"))
		t.Logf("mcp.log: %s", b)
		t.Fatal("Claude Code never offered the clauderon tools to the model")
	}
	if len(results) == 0 || !strings.Contains(results[0], fakeanthropic.DefaultReply) {
		t.Errorf("the tool result Claude Code sent back: %q; want the child's reply", results)
	}
	s, ok := findSession(listSessions(t, e.home), child)
	if !ok || s.Status != session.StatusExited || s.Result == nil || s.Result.Text != fakeanthropic.DefaultReply {
		t.Errorf("the child session: %+v (listed %v)", s, ok)
	}
	assertNoCanary(t, "stdout", stdout, Canary)
	assertNoCanary(t, "stderr", stderr, Canary)
}
