package session

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
)

// budgetPrices price model "m" at one dollar an input token, so costs are
// whole dollars and every comparison is exact.
var budgetPrices = Prices{"m": {Input: 1e6}}

// openPriced (re)opens h's manager with budgetPrices, as h.open does:
// what the old one counted is written first.
func openPriced(t *testing.T, h *harness) {
	t.Helper()
	if h.m != nil {
		h.m.FlushUsage()
	}
	m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler), Prices: budgetPrices,
		Container: ContainerConfig{ProxyPort: 18080, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.m = m
}

// TestChildBudget: a child's usage counts against its parent's budget and
// its grandparent's (README, "Usage, cost and budgets": each ancestor's
// budget is checked as well as the child's own). Once the parent's budget
// is spent by its descendants, CheckBudget refuses the parent, every
// descendant and every other child of it, naming the parent's budget, but
// not an unrelated session; the parent's own usage stays its own while its
// tree totals (what the budget is compared with) count the children's;
// raising the budget lets them through at once; a child's own budget
// binds only it and its descendants; token budgets work the same; and all
// of it holds after the manager is reopened, as after a daemon crash.
func TestChildBudget(t *testing.T) {
	h := &harness{home: t.TempDir(), be: newFakeBackend(), auth: &fakeAuth{m: map[string]Secret{}}}
	openPriced(t, h)
	t.Cleanup(func() { h.m.FlushUsage() }) // before the home is removed
	ctx := context.Background()
	create := func(o Options) {
		t.Helper()
		if _, err := h.m.Create(ctx, o); err != nil {
			t.Fatalf("create %s: %v", o.Name, err)
		}
	}
	// p ($10) has children c and s; c has a child g. u is unrelated.
	create(Options{Name: "p", Prompt: "x", Mode: ModePrint, Spawn: 2, Budget: api.Budget{USD: 10}})
	c := child("c", "p")
	c.Spawn = 1
	create(c)
	create(child("s", "p"))
	create(child("g", "c"))
	create(Options{Name: "u", Prompt: "x", Mode: ModePrint, Budget: api.Budget{USD: 10}})
	if g, _ := h.m.Get("g"); g.Parent != "c" || g.Depth != 2 {
		t.Fatalf("grandchild %+v", g)
	}

	usage := func(name string) api.Usage {
		t.Helper()
		s, err := h.m.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		if s.Usage == nil {
			return api.Usage{}
		}
		return *s.Usage
	}
	// own checks a session's own usage: input tokens and requests, and
	// their cost; tree checks what its budget is compared with.
	own := func(name string, input, requests int64) {
		t.Helper()
		u := usage(name)
		if u.Input != input || u.Requests != requests || u.CostUSD != float64(input) {
			t.Errorf("%s's own usage: %d input, %d requests, $%v; want %d, %d, $%d", name, u.Input, u.Requests, u.CostUSD, input, requests, input)
		}
	}
	tree := func(name string, n int64) {
		t.Helper()
		u := usage(name)
		if u.TreeTokens != n || u.TreeCostUSD != float64(n) {
			t.Errorf("%s's tree: %d tokens, $%v; want %d, $%d", name, u.TreeTokens, u.TreeCostUSD, n, n)
		}
	}
	allowed := func(names ...string) {
		t.Helper()
		for _, n := range names {
			if err := h.m.CheckBudget(n); err != nil {
				t.Errorf("CheckBudget(%s) refused: %v", n, err)
			}
		}
	}
	// refused checks that names are refused for budget of's being spent.
	refused := func(of, budget string, names ...string) {
		t.Helper()
		for _, n := range names {
			err := h.m.CheckBudget(n)
			if !errors.Is(err, ErrBudgetSpent) {
				t.Errorf("CheckBudget(%s) = %v; want ErrBudgetSpent", n, err)
				continue
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "clauderon: session "+of+"'s budget of "+budget) || !strings.Contains(msg, "`clauderon budget "+of+" ") {
				t.Errorf("CheckBudget(%s): %q; want session %s's budget of %s and how to raise it", n, msg, of, budget)
			}
			counts := "(which its child " + n + " counts against)"
			if n == "g" && of == "p" {
				counts = "(which its descendant g counts against)" // p's grandchild
			}
			if (n != of) != strings.Contains(msg, counts) {
				t.Errorf("CheckBudget(%s): %q; want %q exactly when %s is not %s", n, msg, counts, n, of)
			}
		}
	}

	// Usage events: one for the session and each ancestor, nearest first,
	// and none for anyone else.
	sub := h.m.Subscribe(SubscribeOptions{})
	defer sub.Close()
	if ev, err := sub.Next(ctx); err != nil || ev.Kind != EventSnapshot {
		t.Fatalf("first event %+v %v", ev, err)
	}
	usageEvents := func(want ...string) {
		t.Helper()
		var got []string
		for len(got) < len(want) {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			ev, err := sub.Next(ctx)
			cancel()
			if err != nil {
				break
			}
			if ev.Kind != EventUsage {
				continue
			}
			var u api.Usage
			if err := json.Unmarshal(ev.Usage, &u); err != nil {
				t.Errorf("usage event of %s: %v", ev.Name, err)
			}
			got = append(got, ev.Name)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("usage events for %v; want %v", got, want)
		}
	}

	h.m.RecordUsage("c", "m", Tokens{Input: 4})
	usageEvents("c", "p")
	own("c", 4, 1)
	own("p", 0, 0) // the parent's own usage is its own: the child's is in its tree
	tree("c", 4)
	tree("p", 4)
	tree("s", 0)
	allowed("p", "c", "s", "g", "u")

	h.m.RecordUsage("g", "m", Tokens{Input: 5})
	usageEvents("g", "c", "p")
	own("g", 5, 1)
	own("c", 4, 1)
	own("p", 0, 0)
	tree("g", 5)
	tree("c", 9)
	tree("p", 9)
	allowed("p", "c", "s", "g", "u") // $9 of $10

	// An unrelated session's usage is not its: u spends more than p's
	// budget and p's tree does not move.
	h.m.RecordUsage("u", "m", Tokens{Input: 9})
	usageEvents("u")
	tree("p", 9)
	allowed("p", "c", "s", "g")

	// The grandchild's next answer spends p's budget: p and every
	// session below it is refused, the other child too; u is not (it is
	// at $9 of its own $10).
	h.m.RecordUsage("g", "m", Tokens{Input: 1})
	usageEvents("g", "c", "p")
	tree("p", 10)
	own("p", 0, 0)
	refused("p", "$10.00", "p", "c", "g", "s")
	allowed("u")

	// Raising p's budget lets them all through at once; what was counted
	// stays.
	usd := 20.0
	if _, err := h.m.SetBudget("p", api.SetBudget{USD: &usd}); err != nil {
		t.Fatal(err)
	}
	usageEvents("p")
	allowed("p", "c", "g", "s", "u")
	tree("p", 10)
	if b := usage("p").Budget; b.USD != 20 {
		t.Errorf("p's budget %+v after raising it to $20", b)
	}

	// A child's own budget binds it and its descendants only: c at $12
	// is spent by g, while p ($12 of $20) and c's sibling s go on.
	usd = 12
	if _, err := h.m.SetBudget("c", api.SetBudget{USD: &usd}); err != nil {
		t.Fatal(err)
	}
	usageEvents("c")
	h.m.RecordUsage("g", "m", Tokens{Input: 2})
	usageEvents("g", "c", "p")
	tree("c", 12)
	tree("p", 12)
	refused("c", "$12.00", "c", "g")
	allowed("p", "s", "u")
	// s spending counts against p, not against its sibling c.
	h.m.RecordUsage("s", "m", Tokens{Input: 3})
	usageEvents("s", "p")
	tree("c", 12)
	tree("p", 15)
	allowed("p", "s")

	// Token budgets count the same way: p's tree is 15 tokens.
	tokens := int64(16)
	if _, err := h.m.SetBudget("p", api.SetBudget{Tokens: &tokens}); err != nil {
		t.Fatal(err)
	}
	usageEvents("p")
	allowed("p", "s")
	h.m.RecordUsage("s", "m", Tokens{Input: 1})
	usageEvents("s", "p")
	if err := h.m.CheckBudget("s"); !errors.Is(err, ErrBudgetSpent) || !strings.Contains(err.Error(), "session p's budget of 16 tokens (which its child s counts against) is spent (16 used)") ||
		!strings.Contains(err.Error(), "`clauderon budget p --tokens ") {
		t.Errorf("s after p's token budget was spent: %v", err)
	}
	refused("p", "16 tokens", "p", "s")
	refused("c", "$12.00", "c", "g") // the nearest spent budget is named
	allowed("u")

	// No usage event was left over: none for a session outside a chain.
	{
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		for {
			ev, err := sub.Next(ctx)
			if err != nil {
				break
			}
			if ev.Kind == EventUsage {
				t.Errorf("a stray usage event for %s", ev.Name)
			}
		}
		cancel()
	}

	// Everything holds after a reopen, as after a daemon SIGKILL.
	sub.Close()
	openPriced(t, h)
	own("p", 0, 0)
	own("c", 4, 1)
	own("g", 8, 3)
	own("s", 4, 2)
	tree("c", 12)
	tree("p", 16)
	refused("p", "16 tokens", "p", "s")
	refused("c", "$12.00", "c", "g")
	allowed("u")
	if b := usage("p").Budget; b != (api.Budget{USD: 20, Tokens: 16}) {
		t.Errorf("p's budget after reopen: %+v", b)
	}

	// Lifting the caps (0 removes one) lets everyone through.
	zero, zeroTokens := 0.0, int64(0)
	if _, err := h.m.SetBudget("p", api.SetBudget{Tokens: &zeroTokens}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.SetBudget("c", api.SetBudget{USD: &zero}); err != nil {
		t.Fatal(err)
	}
	allowed("p", "c", "g", "s", "u")
	// A budget changed is kept at once, with no answer after it.
	openPriced(t, h)
	allowed("p", "c", "g", "s", "u")
	if b := usage("p").Budget; b != (api.Budget{USD: 20}) {
		t.Errorf("p's budget after lifting its token cap and reopening: %+v", b)
	}
}
