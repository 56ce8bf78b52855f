package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/session"
)

// TestNestedSpawn: the real Claude Code inside a session created with
// --spawn 1 calls create_session through http://clauderon.internal/mcp, the
// endpoint its own proxy serves; the child runs in a real container and its
// answer comes back to the parent as the tool result. A second child is
// refused with a tool error naming the count cap. The parent's container
// holds no MCP token, in its environment or its files. list nests the
// child; rm refuses the parent until --recursive.
func TestNestedSpawn(t *testing.T) {
	e := newSessionEnv(t)
	parent, child1, child2 := sname("nest-p"), sname("nest-c1"), sname("nest-c2")
	token := strings.TrimSpace(clOK(t, e.home, "mcp", "token"))
	if len(token) < 16 {
		t.Fatalf("mcp token %q", token)
	}
	const tool = "mcp__clauderon__create_session"
	var mu sync.Mutex
	var results []string
	var leaks []string
	checked := false
	e.fake.SetRespond(func(body []byte) *fakeanthropic.Turn {
		m := fakeanthropic.ParseMessages(body)
		if !m.HasTool(tool) {
			return nil // the children, and Claude Code's side requests
		}
		mu.Lock()
		defer mu.Unlock()
		if !checked {
			// The parent's Claude Code is running, waiting for this answer:
			// look for the token everywhere it could have been put.
			checked = true
			leaks = append(leaks, containerLeaks(t, session.ContainerName(parent), token)...)
		}
		r := m.ToolResults()
		switch {
		case len(r) == 0:
			return &fakeanthropic.Turn{ToolUse: &fakeanthropic.ToolUse{ID: "toolu_nest_1", Name: tool, Input: map[string]any{
				"name": child1, "prompt": "say hello", "mode": "print", "wait": true, "timeout_seconds": 180,
			}}}
		case strings.Contains(r[0], fakeanthropic.DefaultReply):
			results = append(results, r...)
			return &fakeanthropic.Turn{ToolUse: &fakeanthropic.ToolUse{ID: "toolu_nest_2", Name: tool, Input: map[string]any{
				"name": child2, "prompt": "say hello again", "mode": "print", "wait": true, "timeout_seconds": 180,
			}}}
		}
		results = append(results, r...)
		return &fakeanthropic.Turn{Text: "the parent is done"}
	})
	// The fake reads Respond under its lock, which this takes: what was
	// set above happens before any request (they come from a container,
	// which the race detector cannot follow).
	_ = e.fake.Requests()

	out := clOK(t, e.home, "create", "--name", parent, "--prompt", "start two children", "--print", "--wait",
		"--image", e.image, "--no-workdir", "--spawn", "1")
	if !strings.Contains(out, "the parent is done") {
		t.Errorf("the parent printed %q", out)
	}
	mu.Lock()
	if !checked {
		t.Fatal("Claude Code in the parent never offered clauderon's tools to the model")
	}
	if len(results) != 2 {
		t.Fatalf("tool results the parent sent back: %q; want two", results)
	}
	if !strings.Contains(results[0], fakeanthropic.DefaultReply) {
		t.Errorf("first child's result: %q; want its reply", results[0])
	}
	if !strings.Contains(results[1], "count cap") {
		t.Errorf("second child's result: %q; want a refusal naming the count cap", results[1])
	}
	for _, l := range leaks {
		t.Error(l)
	}
	mu.Unlock()

	l := listSessions(t, e.home)
	c, ok := findSession(l, child1)
	if !ok || c.Parent != parent || c.Depth != 1 || c.Status != session.StatusExited || c.Result == nil || c.Result.Text != fakeanthropic.DefaultReply {
		t.Errorf("the child: %+v (listed %v)", c, ok)
	}
	if _, ok := findSession(l, child2); ok {
		t.Errorf("the refused child exists")
	}
	if p, _ := findSession(l, parent); p.Spawn != 1 || p.Spawned != 1 {
		t.Errorf("the parent: spawn %d spawned %d; want 1 and 1", p.Spawn, p.Spawned)
	}
	if out := clOK(t, e.home, "list"); !strings.Contains(out, "└ "+child1) {
		t.Errorf("list does not show the child under its parent:\n%s", out)
	}
	if info, err := dockerCLI(t, "inspect", session.ContainerName(parent)); err != nil || strings.Contains(info, token) {
		t.Errorf("docker inspect of the parent holds the MCP token (or failed: %v)", err)
	}

	if _, stderr, code := cl(t, e.home, "rm", parent); code == 0 || !strings.Contains(stderr, "--recursive") {
		t.Errorf("rm of a parent with a child: exit %d, %q", code, stderr)
	}
	clOK(t, e.home, "rm", "--recursive", parent)
	if l := listSessions(t, e.home); len(l.Sessions) != 0 {
		t.Errorf("left after rm --recursive: %+v", l.Sessions)
	}
}

// containerLeaks looks for token in a running container: every process's
// environment and the files where anything of clauderon's lands.
func containerLeaks(t *testing.T, container, token string) []string {
	var out []string
	info, err := dockerCLI(t, "inspect", container)
	if err != nil {
		return []string{fmt.Sprintf("docker inspect %s: %v", container, err)}
	}
	var cs []struct {
		Config struct{ Env []string }
	}
	if json.Unmarshal([]byte(info), &cs) != nil || len(cs) != 1 {
		return []string{"docker inspect: unreadable"}
	}
	if strings.Contains(strings.Join(cs[0].Config.Env, "\n"), token) {
		out = append(out, "the container's environment holds the MCP token")
	}
	got, err := dockerCLI(t, "exec", container, "sh", "-c",
		`cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -c -F "$1"; grep -rlF "$1" /home /tmp /etc /run /workspace /opt/clauderon /root 2>/dev/null; true`, "sh", token)
	if err != nil {
		return append(out, fmt.Sprintf("docker exec: %v: %s", err, got))
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if lines[0] != "0" {
		out = append(out, "a process in the container has the MCP token in its environment")
	}
	for _, f := range lines[1:] {
		out = append(out, "a file in the container holds the MCP token: "+f)
	}
	return out
}
