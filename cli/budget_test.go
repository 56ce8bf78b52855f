package cli

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
)

func TestCostText(t *testing.T) {
	for _, tc := range []struct {
		name string
		u    *api.Usage
		want string
	}{
		{"none", nil, "-"},
		{"no requests", &api.Usage{Budget: api.Budget{USD: 1}}, "-"},
		{"priced", &api.Usage{Tokens: api.Tokens{Requests: 1}, CostUSD: 0.01234, CostKnown: true}, "$0.0123"},
		{"dollars", &api.Usage{Tokens: api.Tokens{Requests: 1}, CostUSD: 12.345, CostKnown: true}, "$12.35"},
		{"unknown", &api.Usage{Tokens: api.Tokens{Requests: 1}}, "?"},
		{"partly", &api.Usage{Tokens: api.Tokens{Requests: 2}, CostUSD: 0.5}, "≥$0.5000"},
	} {
		if got := costText(tc.u); got != tc.want {
			t.Errorf("%s: costText = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPrintUsage(t *testing.T) {
	var b strings.Builder
	printUsage(&b, "s", &api.Usage{Tokens: api.Tokens{Input: 1, Output: 2, CacheWrite: 3, CacheRead: 4, Requests: 5},
		Models: []api.ModelUsage{{Model: "x\x1b[2J", Tokens: api.Tokens{Requests: 5}}}, Budget: api.Budget{Tokens: 100}, TreeTokens: 10})
	out := b.String()
	for _, want := range []string{"5 request(s), 1 input, 2 output, 3 cache-write, 4 cache-read tokens; cost unknown", "cost unknown", "budget: 100 tokens (10 spent)"} {
		if !strings.Contains(out, want) {
			t.Errorf("printUsage lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("printUsage printed an escape: %q", out)
	}
}

// TestDailyBudgetCommand: budget --daily shows and sets the day's budget
// through PUT /budget; wrong input is a usage error before any request.
func TestDailyBudgetCommand(t *testing.T) {
	var put []string
	mux := http.NewServeMux()
	mux.Handle("GET /api/v0/budget", answer(api.DailyBudget{Day: "2026-12-01", USD: 5, SpentUSD: 1.5}))
	mux.HandleFunc("PUT /api/v0/budget", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		put = append(put, string(b))
		answer(api.DailyBudget{Day: "2026-12-01", USD: 20, SpentUSD: 1.5})(w, r)
	})
	fakeDaemon(t, mux)
	if out, errOut, code := runCLI(t, "budget", "--daily"); code != 0 || !strings.Contains(out, "daily budget: $5.00 across all sessions ($1.50 spent on 2026-12-01)") {
		t.Errorf("budget --daily: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := runCLI(t, "budget", "--daily", "$20"); code != 0 || !strings.Contains(out, "daily budget: $20.00") {
		t.Errorf("budget --daily 20: %d %q %q", code, out, errOut)
	}
	if len(put) != 1 || !strings.Contains(put[0], `"usd":20`) {
		t.Errorf("PUT bodies %q, want one with usd 20", put)
	}
	for _, args := range [][]string{
		{"budget", "--daily", "-1"},
		{"budget", "--daily", "lots"},
		{"budget", "--daily", "1", "2"},
		{"budget", "--daily", "--tokens", "5"},
		{"budget"},
	} {
		if _, errOut, code := runCLI(t, args...); code != 2 || errOut == "" {
			t.Errorf("%q: exit %d, stderr %q; want a usage error (2)", args, code, errOut)
		}
	}
	if len(put) != 1 {
		t.Errorf("a refused command reached the daemon: %q", put)
	}
}
