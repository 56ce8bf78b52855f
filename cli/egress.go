package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

func newEgressCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "egress NAME",
		Short: "Show a session's egress policy and the hosts it was refused",
		Long: `A session reaches Anthropic's API through the proxy, always, and other hosts
only as its egress policy allows:

  open      any host
  balanced  common development hosts (GitHub, npm, PyPI, Go, Debian, …; see
            egress.balanced_hosts in config.json) and the session's allow list
  locked    the session's allow list only

A refused connection gets a 403 that names the host and the command that
allows it. This command shows the policy and the latest refusals; the audit
log keeps them all.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var c client.Client
			rep, err := c.Egress(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return printEgress(cmd.OutOrStdout(), rep, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the policy and refusals as JSON")
	cmd.AddCommand(newEgressAllowCmd(), newEgressModeCmd())
	return cmd
}

func newEgressAllowCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "allow NAME HOST...",
		Short: "Let a session reach more hosts, at once (no restart)",
		Long: `Adds each HOST (example.com, *.example.com for every name below it, or an IP
address) to the session's allow list. Its next connection sees the change;
the session need not restart. The change is kept with the session.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return changeEgress(cmd.Context(), cmd.OutOrStdout(), args[0], api.EgressChange{Allow: args[1:]}, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the new policy as JSON")
	return cmd
}

func newEgressModeCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "mode NAME open|balanced|locked",
		Short: "Change a session's egress mode, at once (no restart)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return changeEgress(cmd.Context(), cmd.OutOrStdout(), args[0], api.EgressChange{Mode: args[1]}, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the new policy as JSON")
	return cmd
}

func changeEgress(ctx context.Context, w io.Writer, name string, ch api.EgressChange, asJSON bool) error {
	var c client.Client
	rep, err := c.ChangeEgress(ctx, name, ch)
	if err != nil {
		return err
	}
	return printEgress(w, rep, asJSON)
}

func printEgress(w io.Writer, rep session.EgressReport, asJSON bool) error {
	if asJSON {
		return printJSON(w, rep)
	}
	fmt.Fprintf(w, "session %s: egress %s\n", rep.Session, rep.Mode)
	switch rep.Mode {
	case string(session.EgressOpen):
		fmt.Fprintln(w, "  any host may be reached")
	case string(session.EgressBalanced):
		fmt.Fprintf(w, "  allowed: Anthropic's API, %d development hosts (see `clauderon egress %s --json`)", len(rep.Balanced), rep.Session)
		if len(rep.Allow) > 0 {
			fmt.Fprintf(w, ", and %s", visiblePath(strings.Join(rep.Allow, ", ")))
		}
		fmt.Fprintln(w)
	default:
		fmt.Fprint(w, "  allowed: Anthropic's API")
		if len(rep.Allow) > 0 {
			fmt.Fprintf(w, " and %s", visiblePath(strings.Join(rep.Allow, ", ")))
		}
		fmt.Fprintln(w)
	}
	if len(rep.Denials) == 0 {
		fmt.Fprintln(w, "no refused hosts since the daemon started")
		return nil
	}
	fmt.Fprintf(w, "refused (latest %d hosts, oldest first):\n", len(rep.Denials))
	for _, d := range rep.Denials {
		times := ""
		if d.Count > 1 {
			times = fmt.Sprintf("  (%d times)", d.Count)
		}
		fmt.Fprintf(w, "  %s  %s%s\n", d.Time.Local().Format("2006-01-02 15:04:05"), visiblePath(d.Host), times)
	}
	fmt.Fprintf(w, "allow one with: clauderon egress allow %s HOST\n", rep.Session)
	return nil
}
