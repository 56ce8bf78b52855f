package session

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
)

func TestPricesLookup(t *testing.T) {
	p := Prices(DefaultPrices)
	for _, tc := range []struct {
		model string
		want  float64 // input price
		ok    bool
	}{
		{"claude-sonnet-4-5", 3, true},
		{"claude-sonnet-4-5-20250929", 3, true},
		{"claude-opus-4-1-20250805", 15, true},
		{"claude-opus-4-5-20251101", 5, true},
		{"claude-haiku-4-5", 1, true},
		{"claude-sonnet-45", 0, false},
		{"gpt-5", 0, false},
	} {
		got, ok := p.Lookup(tc.model)
		if ok != tc.ok || got.Input != tc.want {
			t.Errorf("Lookup(%q) = %v %v, want input %v %v", tc.model, got, ok, tc.want, tc.ok)
		}
	}
}

// TestUsagePersists: usage, cost and budget are kept across a reopen (a
// daemon killed keeps what was counted), a child's usage counts against its
// parent's budget, and raising the budget lets requests through at once.
func TestUsagePersists(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.m.Create(ctx, Options{Name: "p", Prompt: "x", Mode: ModePrint, Spawn: 1, Budget: api.Budget{USD: 0.1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Create(ctx, child("c", "p")); err != nil {
		t.Fatal(err)
	}
	in := Tokens{Input: 1000, Output: 2000, CacheWrite: 300, CacheRead: 4000}
	h.m.RecordUsage("p", "claude-sonnet-4-5-20250929", in)
	h.m.RecordUsage("c", "claude-sonnet-4-5", in)
	h.m.RecordUsage("c", "mystery-model", Tokens{Input: 5})
	// sonnet: 1000*3 + 2000*15 + 300*3.75 + 4000*0.3 per million
	one := (1000*3 + 2000*15 + 300*3.75 + 4000*0.3) / 1e6
	if err := h.m.CheckBudget("c"); err != nil {
		t.Fatalf("budget spent early: %v", err)
	}

	h.open(t) // as a restarted daemon
	p, _ := h.m.Get("p")
	c, _ := h.m.Get("c")
	if p.Usage == nil || c.Usage == nil {
		t.Fatalf("usage lost: %+v %+v", p.Usage, c.Usage)
	}
	want := in
	want.Requests = 1
	if p.Usage.Tokens != want || !p.Usage.CostKnown || math.Abs(p.Usage.CostUSD-one) > 1e-12 {
		t.Errorf("p's usage %+v, want %+v costing %v", p.Usage, want, one)
	}
	// mystery-model's 5 input tokens count at the table's highest input
	// price.
	var topInput float64
	for _, pr := range DefaultPrices {
		topInput = max(topInput, pr.Input)
	}
	if p.Usage.Budget.USD != 0.1 || math.Abs(p.Usage.TreeCostUSD-(2*one+5*topInput/1e6)) > 1e-12 || p.Usage.TreeTokens != 2*in.Total()+5 {
		t.Errorf("p's budget and tree %+v", p.Usage)
	}
	if c.Usage.CostKnown || len(c.Usage.Models) != 2 || c.Usage.Requests != 2 || c.Usage.Input != 1005 {
		t.Errorf("c's usage %+v: want two models, one unpriced", c.Usage)
	}

	h.m.RecordUsage("c", "claude-opus-4-1", Tokens{Output: 1000}) // $0.075: over p's budget
	err := h.m.CheckBudget("c")
	if !errors.Is(err, ErrBudgetSpent) || !strings.Contains(err.Error(), "session p's budget of $0.1000") ||
		!strings.Contains(err.Error(), "`clauderon budget p ") {
		t.Errorf("after the parent's budget was spent: %v", err)
	}
	if err := h.m.CheckBudget("p"); !errors.Is(err, ErrBudgetSpent) {
		t.Errorf("the parent itself: %v", err)
	}
	usd := 1.0
	if _, err := h.m.SetBudget("p", api.SetBudget{USD: &usd}); err != nil {
		t.Fatal(err)
	}
	if err := h.m.CheckBudget("c"); err != nil {
		t.Errorf("after raising it: %v", err)
	}
	tokens := int64(10)
	if _, err := h.m.SetBudget("c", api.SetBudget{Tokens: &tokens}); err != nil {
		t.Fatal(err)
	}
	h.open(t)
	if err := h.m.CheckBudget("c"); !errors.Is(err, ErrBudgetSpent) || !strings.Contains(err.Error(), "--tokens") {
		t.Errorf("a token budget after reopen: %v", err)
	}
	if _, err := h.m.SetBudget("nobody", api.SetBudget{USD: &usd}); !errors.Is(err, ErrNotFound) {
		t.Errorf("budget of a missing session: %v", err)
	}
}

func TestDailyBudget(t *testing.T) {
	h := newHarness(t)
	m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, DailyBudgetUSD: 0.01, Logger: slog.New(slog.DiscardHandler),
		Prices: Prices{"cheap": {Input: 1000}}})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		if _, err := m.Create(ctx, Options{Name: n, Prompt: "x", Mode: ModePrint}); err != nil {
			t.Fatal(err)
		}
	}
	m.RecordUsage("a", "cheap", Tokens{Input: 5}) // $0.005
	if err := m.CheckBudget("b"); err != nil {
		t.Fatalf("early: %v", err)
	}
	m.RecordUsage("a", "cheap", Tokens{Input: 5})
	if err := m.CheckBudget("b"); !errors.Is(err, ErrBudgetSpent) || !strings.Contains(err.Error(), "today's budget of $0.0100") {
		t.Errorf("b after a spent the day's budget: %v", err)
	}
}

// TestUsageWriter: usage is counted at once and written behind; budgets
// set meanwhile are never overwritten by an older copy, a removed session's
// files are not made again, and after a flush the files hold exactly what
// the manager shows.
func TestUsageWriter(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	for _, n := range []string{"a", "b", "gone"} {
		if _, err := h.m.Create(ctx, Options{Name: n, Prompt: "x", Mode: ModePrint}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.m.RecordUsage([]string{"a", "b", "gone"}[i%3], "claude-sonnet-4-5", Tokens{Input: 1, Output: 2})
		}()
		if i%20 == 0 {
			usd := float64(i + 1)
			if _, err := h.m.SetBudget("a", api.SetBudget{USD: &usd}); err != nil {
				t.Fatal(err)
			}
		}
	}
	wg.Wait()
	if err := h.m.Remove(ctx, "gone", true, true); err != nil {
		t.Fatal(err)
	}
	want := map[string]*api.Usage{}
	for _, n := range []string{"a", "b"} {
		s, err := h.m.Get(n)
		if err != nil {
			t.Fatal(err)
		}
		want[n] = s.Usage
	}
	if want["a"].Budget.USD != 181 || want["a"].Requests+want["b"].Requests != 134 {
		t.Fatalf("in memory: a %+v, b %+v", want["a"], want["b"])
	}
	h.open(t) // flushes, then reads the files
	for n, w := range want {
		s, err := h.m.Get(n)
		if err != nil {
			t.Fatal(err)
		}
		if s.Usage == nil || s.Usage.Tokens != w.Tokens || s.Usage.Budget != w.Budget {
			t.Errorf("%s from its file: %+v, want %+v", n, s.Usage, w)
		}
	}
	if _, err := os.Stat(filepath.Join(h.home, "sessions", "gone")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a removed session's directory was made again: %v", err)
	}
	day, _ := h.m.SpentToday()
	if day <= 0 {
		t.Errorf("the day's total after a reopen: %v", day)
	}
}

// TestUnpricedModelSpends: a model the price table lacks counts against
// USD budgets and the day's at the table's highest prices, while its own
// cost still says it is unknown.
func TestUnpricedModelSpends(t *testing.T) {
	h := newHarness(t)
	m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, DailyBudgetUSD: 50, Logger: slog.New(slog.DiscardHandler),
		Prices: Prices{"cheap": {Input: 1, Output: 2}, "dear": {Input: 3, Output: 75, CacheWrite: 10, CacheRead: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	h.m = m
	ctx := context.Background()
	if _, err := m.Create(ctx, Options{Name: "a", Prompt: "x", Mode: ModePrint, Budget: Budget{USD: 1}}); err != nil {
		t.Fatal(err)
	}
	m.RecordUsage("a", "claude-3-opus-20240229", Tokens{Input: 1_000_000, Output: 1_000_000})
	s, err := m.Get("a")
	if err != nil {
		t.Fatal(err)
	}
	// The highest prices: dear's output, or a default's if higher.
	var top api.Price
	for _, pr := range DefaultPrices {
		top.Input, top.Output = max(top.Input, pr.Input), max(top.Output, pr.Output)
	}
	want := max(top.Input, 3) + max(top.Output, 75)
	if s.Usage.CostKnown || math.Abs(s.Usage.TreeCostUSD-want) > 1e-9 {
		t.Errorf("an unpriced model: cost known %v, tree cost %v; want unknown, $%v at the highest prices", s.Usage.CostKnown, s.Usage.TreeCostUSD, want)
	}
	if err := m.CheckBudget("a"); !errors.Is(err, ErrBudgetSpent) {
		t.Errorf("a $1 budget after $78 of an unpriced model: %v; want spent", err)
	}
	if used, _ := m.SpentToday(); math.Abs(used-want) > 1e-9 {
		t.Errorf("the day's spending %v, want %v", used, want)
	}
}

// TestDayEndsWithItsFigures: an answer counted just before midnight whose
// write had not happened yet still lands in its own day's file, not the
// next day's, and the next day starts from nothing.
func TestDayEndsWithItsFigures(t *testing.T) {
	h := newHarness(t)
	now := time.Date(2026, 12, 1, 23, 59, 59, 0, time.Local)
	clock := func() time.Time { return now }
	l := newLedger(h.m.st.sessionDir, h.home, Prices{}, 0, clock, func(err error) { t.Error(err) })
	l.mu.Lock()
	l.writing = true // the writer is busy: what comes now waits
	l.mu.Unlock()
	l.add([]string{"nobody"}, "m", Tokens{Input: 7})
	now = now.Add(2 * time.Second) // midnight passes before the write
	l.mu.Lock()
	l.todayLocked() // a budget check, say
	l.writing = false
	l.mu.Unlock()
	l.add([]string{"nobody"}, "m", Tokens{Input: 1})
	l.flush()
	read := func(day string) map[string]api.Tokens {
		var m map[string]api.Tokens
		b, err := os.ReadFile(filepath.Join(h.home, "usage", day+".json"))
		if err != nil || json.Unmarshal(b, &m) != nil {
			t.Fatalf("%s: %v %s", day, err, b)
		}
		return m
	}
	if got := read("2026-12-01")["m"].Input; got != 7 {
		t.Errorf("the day that ended: %d input tokens, want 7", got)
	}
	if got := read("2026-12-02")["m"].Input; got != 1 {
		t.Errorf("the new day: %d input tokens, want 1", got)
	}
}
