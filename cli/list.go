package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

func newListCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List sessions",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runList(ctx context.Context, w io.Writer, asJSON bool) error {
	var c client.Client
	l, err := c.List(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, l)
	}
	if len(l.Sessions) == 0 {
		fmt.Fprintln(w, "no sessions; create one with: clauderon create --name NAME --prompt PROMPT")
	} else {
		now := time.Now()
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tSTATUS\tMODE\tIMAGE\tCREATED\tCHANGES\tPROMPT")
		for _, s := range l.Sessions {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, printable(statusText(s)), s.Mode, printable(s.Image), ago(s.CreatedAt, now), changesText(s), oneLine(s.Prompt, 40))
		}
		tw.Flush()
		for _, s := range l.Sessions {
			if s.Warning != "" {
				fmt.Fprintf(w, "warning: %s: %s\n", s.Name, printable(s.Warning))
			}
		}
	}
	if len(l.Orphans) > 0 {
		fmt.Fprintln(w, "\norphaned containers (not deleted; inspect and remove them with docker):")
		for _, o := range l.Orphans {
			fmt.Fprintf(w, "  %.12s  %s  %s: %s\n", printable(o.ID), printable(o.Name), printable(o.Status), printable(o.Reason))
		}
	}
	return nil
}

// changesText says what a session's workspace holds for `list`: "+3 files"
// not yet landed or applied, "landed" or "applied" when all of it was, "-"
// when there is nothing (or no workspace).
func changesText(s session.Session) string {
	c := s.Changes
	switch {
	case c == nil:
		return "-"
	case c.Pending:
		return "…"
	case c.Error != "":
		return "? (see clauderon diff " + s.Name + ")"
	case c.Unlanded && c.Files == 0:
		return "+branches"
	case c.Unlanded:
		extra := ""
		if len(c.OtherRefs) > 0 {
			extra = " +branches"
		}
		if c.Files == 1 {
			return "+1 file" + extra
		}
		return fmt.Sprintf("+%d files", c.Files) + extra
	case c.Files > 0 && s.Workspace != nil && s.Workspace.Landed != nil && (s.Workspace.Applied == nil || s.Workspace.Landed.At.After(s.Workspace.Applied.At)):
		return "landed"
	case c.Files > 0:
		return "applied"
	}
	return "-"
}
