package cli

import (
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
