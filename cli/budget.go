package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

func newBudgetCmd() *cobra.Command {
	var (
		asJSON bool
		tokens int64
		daily  bool
	)
	cmd := &cobra.Command{
		Use:   "budget NAME [USD] | budget --daily [USD]",
		Short: "Change a session's budget, or the day's across sessions, at once",
		Long: `Sets the session's budget in US dollars (USD), in tokens (--tokens N: input,
output, cache writes and reads together), or both; 0 removes one. What the
session's children spend counts against it. The proxy's next check sees the
change: once a budget is spent, the session's next request to Anthropic gets
an error naming it and this command, and requests already streaming finish.
Only you can change a budget; a session cannot raise its own.

With --daily it shows, or sets, the day's budget in US dollars across every
session (0 removes it); it is saved as budget.daily_usd in config.json.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if daily {
				return runDailyBudget(cmd, args, asJSON)
			}
			if len(args) == 0 {
				return usageErrorf(cmd, "name the session: clauderon budget NAME USD (or --daily USD for the day's budget)")
			}
			var b api.SetBudget
			if len(args) == 2 {
				v, err := parseUSD(cmd, args[1])
				if err != nil {
					return err
				}
				b.USD = &v
			}
			if cmd.Flags().Changed("tokens") {
				if tokens < 0 {
					return usageErrorf(cmd, "--tokens cannot be negative")
				}
				b.Tokens = &tokens
			}
			if b.USD == nil && b.Tokens == nil {
				return usageErrorf(cmd, "give a budget: clauderon budget %s USD, or --tokens N", args[0])
			}
			return runBudget(cmd.Context(), cmd.OutOrStdout(), args[0], b, asJSON)
		},
	}
	cmd.Flags().Int64Var(&tokens, "tokens", 0, "the budget in tokens (0 removes it)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the session (or the daily budget) as JSON")
	cmd.Flags().BoolVar(&daily, "daily", false, "show or set the day's budget across sessions, in US dollars")
	return cmd
}

// parseUSD reads a budget in dollars: 5, 0.50 or $5.
func parseUSD(cmd *cobra.Command, s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimPrefix(s, "$"), 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, usageErrorf(cmd, "USD must be a number of dollars, such as 5 or 0.50, not %q", s)
	}
	return v, nil
}

func runDailyBudget(cmd *cobra.Command, args []string, asJSON bool) error {
	if len(args) > 1 || cmd.Flags().Changed("tokens") {
		return usageErrorf(cmd, "the daily budget is in US dollars only: clauderon budget --daily USD")
	}
	var (
		c   client.Client
		b   api.DailyBudget
		err error
	)
	if len(args) == 1 {
		v, perr := parseUSD(cmd, args[0])
		if perr != nil {
			return perr
		}
		b, err = c.SetDailyBudget(cmd.Context(), v)
	} else {
		b, err = c.DailyBudget(cmd.Context())
	}
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(b)
	}
	if b.USD == 0 {
		fmt.Fprintf(w, "daily budget: none (%s spent on %s)\n", dollars(b.SpentUSD), b.Day)
		return nil
	}
	fmt.Fprintf(w, "daily budget: %s across all sessions (%s spent on %s)\n", dollars(b.USD), dollars(b.SpentUSD), b.Day)
	return nil
}

func runBudget(ctx context.Context, w io.Writer, name string, b api.SetBudget, asJSON bool) error {
	var c client.Client
	s, err := c.SetBudget(ctx, name, b)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	fmt.Fprintf(w, "session %s: budget %s\n", s.Name, budgetText(s.Usage))
	return nil
}

// budgetText describes a session's budget and what counts against it.
func budgetText(u *api.Usage) string {
	if u == nil || u.Budget == (api.Budget{}) {
		return "none"
	}
	var parts []string
	if u.Budget.USD > 0 {
		parts = append(parts, fmt.Sprintf("%s (%s spent)", dollars(u.Budget.USD), dollars(u.TreeCostUSD)))
	}
	if u.Budget.Tokens > 0 {
		parts = append(parts, fmt.Sprintf("%d tokens (%d spent)", u.Budget.Tokens, u.TreeTokens))
	}
	return strings.Join(parts, ", ")
}

// dollars formats a cost: $0.0123 below a dollar, $1.50 above.
func dollars(v float64) string {
	if v < 1 {
		return fmt.Sprintf("$%.4f", v)
	}
	return fmt.Sprintf("$%.2f", v)
}

// costText is a session's cost for list: "$0.0123", "?" when some model
// has no price and nothing is priced, "≥$0.01" when only part is, "-" for
// none.
func costText(u *api.Usage) string {
	switch {
	case u == nil || u.Requests == 0:
		return "-"
	case u.CostKnown:
		return dollars(u.CostUSD)
	case u.CostUSD == 0:
		return "?"
	}
	return "≥" + dollars(u.CostUSD)
}

// usageErrorf is a usage error of cmd (exit code 2, its usage printed).
func usageErrorf(cmd *cobra.Command, format string, args ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, args...)}
}

// printUsage writes what the proxy counted of a session's Messages
// requests: totals, each model's share and cost, and its budget.
func printUsage(w io.Writer, name string, u *api.Usage) {
	if u == nil {
		return
	}
	cost := dollars(u.CostUSD)
	if !u.CostKnown {
		cost = "unknown (no price for some model)"
		if u.CostUSD > 0 {
			cost = "at least " + dollars(u.CostUSD) + " (no price for some model)"
		}
	}
	fmt.Fprintf(w, "session %s usage: %d request(s), %d input, %d output, %d cache-write, %d cache-read tokens; cost %s\n",
		name, u.Requests, u.Input, u.Output, u.CacheWrite, u.CacheRead, cost)
	for _, m := range u.Models {
		mc := "cost unknown"
		if m.Priced {
			mc = dollars(m.CostUSD)
		}
		fmt.Fprintf(w, "  %s: %d request(s), %d in, %d out, %d cache-write, %d cache-read; %s\n",
			printable(m.Model), m.Requests, m.Input, m.Output, m.CacheWrite, m.CacheRead, mc)
	}
	if u.Budget != (api.Budget{}) {
		fmt.Fprintf(w, "  budget: %s\n", budgetText(u))
	}
}
