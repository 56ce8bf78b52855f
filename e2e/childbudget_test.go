package e2e

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// TestChildBudget: a child the real Claude Code starts through clauderon's
// MCP (create_session in a --spawn 1 session) spends against its parent's
// budget. Every Messages answer reports the fake's known figures: the
// child's are counted as its own usage and in its parent's tree totals,
// while the parent's own usage stays its own. Once the parent's token
// budget is set just above what the tree has spent, the child's next answer
// spends it, and the child's following request is refused by the proxy with
// the parent's budget error, which Claude Code shows in the child's result;
// the parent is refused too, and the fake sees neither request. Raising the
// parent's budget lets the child through again.
func TestChildBudget(t *testing.T) {
	e := newSessionEnv(t)
	fig := fakeanthropic.Usage{Input: 101, Output: 23, CacheWrite: 5, CacheRead: 7}
	per := fig.Input + fig.Output + fig.CacheWrite + fig.CacheRead
	e.fake.SetUsage(fig)
	parent, child := sname("cb-p"), sname("cb-c")
	const tool = "mcp__clauderon__create_session"
	var mu sync.Mutex
	var results []string
	e.fake.SetRespond(func(body []byte) *fakeanthropic.Turn {
		m := fakeanthropic.ParseMessages(body)
		if !m.HasTool(tool) {
			return nil // the child, and Claude Code's side requests
		}
		mu.Lock()
		defer mu.Unlock()
		if r := m.ToolResults(); len(r) > 0 {
			results = append(results, r...)
			return &fakeanthropic.Turn{Text: "the parent is done"}
		}
		return &fakeanthropic.Turn{ToolUse: &fakeanthropic.ToolUse{ID: "toolu_cb_1", Name: tool, Input: map[string]any{
			"name": child, "prompt": "say hello", "mode": "print", "wait": true, "timeout_seconds": 180,
		}}}
	})
	t.Cleanup(func() { e.fake.SetRespond(nil) })
	_ = e.fake.Requests() // what was set above happens before any request (see TestNestedSpawn)

	out := clOK(t, e.home, "create", "--name", parent, "--prompt", "start a child", "--print", "--wait",
		"--image", e.image, "--no-workdir", "--spawn", "1")
	t.Cleanup(func() { cl(t, e.home, "rm", "--force", "--recursive", parent) })
	if !strings.Contains(out, "the parent is done") {
		t.Fatalf("the parent printed %q", out)
	}
	mu.Lock()
	if len(results) != 1 || !strings.Contains(results[0], fakeanthropic.DefaultReply) {
		t.Fatalf("the tool result the parent got back: %q; want the child's reply", results)
	}
	mu.Unlock()

	c := e.d.client()
	get := func(name string) api.Session {
		t.Helper()
		s, err := c.Get(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Usage == nil {
			t.Fatalf("%s has no usage", name)
		}
		return s
	}
	// times is the fake's figures for n answers.
	times := func(n int64) api.Tokens {
		return api.Tokens{Input: n * fig.Input, Output: n * fig.Output, CacheWrite: n * fig.CacheWrite, CacheRead: n * fig.CacheRead, Requests: n}
	}
	// check: each session's own usage is its answers times the figures,
	// the two together are every answer the fake gave, and the parent's
	// tree (what its budget is compared with) is both; the child's tree
	// is its own.
	check := func(when string) (p, ch api.Session) {
		t.Helper()
		p, ch = get(parent), get(child)
		if ch.Parent != parent {
			t.Fatalf("%s's parent is %q", child, ch.Parent)
		}
		np, nc := p.Usage.Requests, ch.Usage.Requests
		if nc == 0 || np == 0 {
			t.Fatalf("%s: requests counted: parent %d, child %d", when, np, nc)
		}
		if p.Usage.Tokens != times(np) || ch.Usage.Tokens != times(nc) {
			t.Errorf("%s: usage parent %+v (want %+v), child %+v (want %+v)", when, p.Usage.Tokens, times(np), ch.Usage.Tokens, times(nc))
		}
		if n := int64(len(e.fake.MessageRequests())); np+nc != n {
			t.Errorf("%s: the parent's %d and the child's %d requests; the fake answered %d", when, np, nc, n)
		}
		if p.Usage.TreeTokens != (np+nc)*per || ch.Usage.TreeTokens != nc*per {
			t.Errorf("%s: tree tokens parent %d (want %d), child %d (want %d)", when, p.Usage.TreeTokens, (np+nc)*per, ch.Usage.TreeTokens, nc*per)
		}
		if p.Usage.TreeCostUSD <= p.Usage.CostUSD || math.Abs(p.Usage.TreeCostUSD-p.Usage.CostUSD-ch.Usage.CostUSD) > 1e-12 {
			t.Errorf("%s: the parent's tree cost $%v is not its own $%v and the child's $%v", when, p.Usage.TreeCostUSD, p.Usage.CostUSD, ch.Usage.CostUSD)
		}
		return p, ch
	}
	p, ch := check("after the child ran")
	t.Logf("parent: %d requests, child: %d; %d tokens each", p.Usage.Requests, ch.Usage.Requests, per)

	// A token budget one token above the tree's spending: not spent yet,
	// so the child's next turn gets answers, which spend it.
	limit := p.Usage.TreeTokens + 1
	clOK(t, e.home, "budget", parent, "--tokens", strconv.FormatInt(limit, 10))
	if out := clOK(t, e.home, "continue", child, "say more", "--wait"); !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Errorf("the child's turn before the budget was spent: %q", out)
	}
	p2, ch2 := check("after the child's turn that spent the budget")
	if p2.Usage.Requests != p.Usage.Requests || ch2.Usage.Requests <= ch.Usage.Requests {
		t.Errorf("requests counted: parent %d → %d, child %d → %d; want only the child's to grow",
			p.Usage.Requests, p2.Usage.Requests, ch.Usage.Requests, ch2.Usage.Requests)
	}
	if p2.Usage.TreeTokens < limit || p2.Usage.Budget.Tokens != limit || ch2.Usage.Budget != (api.Budget{}) {
		t.Fatalf("the parent's tree %d of its budget %+v; the child's budget %+v", p2.Usage.TreeTokens, p2.Usage.Budget, ch2.Usage.Budget)
	}

	// The child's next request: refused with the parent's budget error.
	sent := len(e.fake.MessageRequests())
	msg := "session " + parent + "'s budget of " + strconv.FormatInt(limit, 10) + " tokens (which its child " + child + " counts against) is spent"
	out, errOut, code := cl(t, e.home, "continue", child, "say more", "--wait")
	if code == 0 || !strings.Contains(out+errOut, msg) || !strings.Contains(out+errOut, "clauderon budget "+parent+" --tokens ") {
		t.Errorf("the child's turn after its parent's budget was spent: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if r := get(child).Result; r == nil || !r.IsError || !strings.Contains(r.Text, "402 clauderon: "+msg) {
		t.Errorf("the child's result after its parent's budget was spent: %+v", r)
	} else {
		t.Logf("the child's Claude Code: %q", r.Text)
	}
	// The parent itself is refused too, naming its own budget.
	out, errOut, code = cl(t, e.home, "continue", parent, "anything more?", "--wait")
	if own := "session " + parent + "'s budget of " + strconv.FormatInt(limit, 10) + " tokens is spent"; code == 0 || !strings.Contains(out+errOut, own) {
		t.Errorf("the parent's turn after its budget was spent: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if got := len(e.fake.MessageRequests()); got != sent {
		t.Errorf("the fake saw %d more requests after the budget was spent", got-sent)
	}
	if now := get(parent); now.Usage.TreeTokens != p2.Usage.TreeTokens {
		t.Errorf("refused requests were counted: the parent's tree %d → %d", p2.Usage.TreeTokens, now.Usage.TreeTokens)
	}

	// Raising the parent's budget lets the child through at once.
	clOK(t, e.home, "budget", parent, "--tokens", strconv.FormatInt(100*limit, 10))
	if out := clOK(t, e.home, "continue", child, "say more", "--wait"); !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Errorf("the child's turn after its parent's budget was raised: %q", out)
	}
	check("after the budget was raised")
	assertNoCanary(t, "the child's output", out, Canary)
}
