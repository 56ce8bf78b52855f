//go:build linux

package e2e

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/session"
)

// TestUsageAndBudget: the real Claude Code's requests are counted exactly
// as the fake reported them (its figures, in JSON or SSE) and priced by the
// table; a session with a tiny budget gets the proxy's error once it is
// spent, which Claude Code shows in its result, and `clauderon budget` lets
// the next turn through; after a daemon SIGKILL usage and budget are intact.
func TestUsageAndBudget(t *testing.T) {
	e := newSessionEnv(t)
	fig := fakeanthropic.Usage{Input: 1203, Output: 345, CacheWrite: 67, CacheRead: 8901}
	e.fake.SetUsage(fig)
	wd := workdir(t)

	// Usage: totals equal the fake's figures times its requests.
	u := sname("usage")
	before := len(e.fake.MessageRequests())
	clOK(t, e.home, "create", "--name", u, "--prompt", "say hello", "--print", "--wait", "--image", e.image, "--workdir", wd)
	n := int64(len(e.fake.MessageRequests()) - before)
	if n == 0 {
		t.Fatal("the fake saw no /v1/messages request")
	}
	s, err := e.d.client().Get(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	want := api.Tokens{Input: n * fig.Input, Output: n * fig.Output, CacheWrite: n * fig.CacheWrite, CacheRead: n * fig.CacheRead, Requests: n}
	if s.Usage == nil || s.Usage.Tokens != want {
		t.Fatalf("usage %+v, want %+v (%d requests)", s.Usage, want, n)
	}
	var cost float64
	for _, m := range s.Usage.Models {
		p, ok := session.Prices(session.DefaultPrices).Lookup(m.Model)
		if !ok || !m.Priced {
			t.Errorf("model %q has no price (priced %v)", m.Model, m.Priced)
			continue
		}
		if c := p.Cost(m.Tokens); math.Abs(c-m.CostUSD) > 1e-12 {
			t.Errorf("model %s costs %v, want %v by the table", m.Model, m.CostUSD, c)
		}
		cost += p.Cost(m.Tokens)
	}
	if !s.Usage.CostKnown || math.Abs(cost-s.Usage.CostUSD) > 1e-12 || cost == 0 {
		t.Errorf("cost %v (known %v), want %v", s.Usage.CostUSD, s.Usage.CostKnown, cost)
	}
	if out := clOK(t, e.home, "list"); !strings.Contains(out, "COST") || !strings.Contains(out, fmt.Sprintf("$%.4f", cost)) {
		t.Errorf("list does not show the cost $%.4f:\n%s", cost, out)
	}
	_, errOut, _ := cl(t, e.home, "result", u)
	if !strings.Contains(errOut, "usage:") || !strings.Contains(errOut, fmt.Sprintf("%d input", want.Input)) {
		t.Errorf("result's usage lines:\n%s", errOut)
	}

	// Budget: one answer spends it; the next turn's request is refused
	// with the proxy's message, which Claude Code shows.
	b := sname("budget")
	clOK(t, e.home, "create", "--name", b, "--prompt", "say hello", "--print", "--wait", "--budget-usd", "0.001", "--image", e.image, "--workdir", wd)
	sent := len(e.fake.MessageRequests())
	out, errOut, code := cl(t, e.home, "continue", b, "say more", "--wait")
	msg := "budget of $0.0010 is spent"
	if code == 0 || !strings.Contains(out+errOut, msg) || !strings.Contains(out+errOut, "clauderon budget "+b+" ") {
		t.Errorf("the turn after the budget was spent: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if got := len(e.fake.MessageRequests()); got != sent {
		t.Errorf("the fake saw %d more requests after the budget was spent", got-sent)
	}
	assertNoCanary(t, "continue's output", out+errOut, Canary)
	// The text is Claude Code's own result: it printed the proxy's message.
	if r, err := e.d.client().Get(context.Background(), b); err != nil || r.Result == nil || !strings.Contains(r.Result.Text, "402 clauderon: session "+b+"'s "+msg) || !r.Result.IsError {
		t.Errorf("Claude Code's result after the budget was spent: %+v (%v)", r.Result, err)
	} else {
		t.Logf("Claude Code's result: %q", r.Result.Text)
	}
	clOK(t, e.home, "budget", b, "5")
	if out := clOK(t, e.home, "continue", b, "say more", "--wait"); !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Errorf("after raising the budget: %q", out)
	}

	// Crash: usage and budgets survive a SIGKILL, and a spent budget is
	// still enforced. u's budget is set last, with no answer after it, so
	// only its own save can keep it.
	clOK(t, e.home, "budget", u, "--tokens", "1")
	c := e.d.client()
	su, err := c.Get(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := c.Get(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	e.d.kill()
	d2 := startSessDaemon(t, e.home, 0)
	for _, was := range []api.Session{su, sb} {
		now, err := d2.client().Get(context.Background(), was.Name)
		if err != nil {
			t.Fatal(err)
		}
		if now.Usage == nil || now.Usage.Tokens != was.Usage.Tokens || now.Usage.Budget != was.Usage.Budget || now.Usage.CostUSD != was.Usage.CostUSD ||
			now.Usage.TreeTokens != was.Usage.TreeTokens {
			t.Errorf("%s after SIGKILL: %+v, want %+v", was.Name, now.Usage, was.Usage)
		}
	}
	if su.Usage.Budget.Tokens != 1 {
		t.Errorf("u's budget before the crash %+v, want 1 token", su.Usage.Budget)
	}
	sent = len(e.fake.MessageRequests())
	out, errOut, code = cl(t, e.home, "continue", u, "again", "--wait")
	if code == 0 || !strings.Contains(out+errOut, "budget of 1 tokens is spent") {
		t.Errorf("a spent budget after SIGKILL: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if got := len(e.fake.MessageRequests()); got != sent {
		t.Errorf("after SIGKILL the fake saw %d requests past a spent budget", got-sent)
	}
	if sb.Usage.Budget.USD != 5 {
		t.Errorf("budget before the crash %+v, want $5", sb.Usage.Budget)
	}
	assertNoCanaryUnder(t, e.home, Canary)
}
