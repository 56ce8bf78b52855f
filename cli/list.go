package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

func newListCmd() *cobra.Command {
	var asJSON, watch bool
	cmd := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List sessions",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if watch {
				return runListWatch(cmd.Context(), &client.Client{}, cmd.OutOrStdout(), asJSON)
			}
			return runList(cmd.Context(), cmd.OutOrStdout(), asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "list again at every change (redrawn in place on a terminal; a new table per change when piped)")
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
	return renderList(w, l, time.Now(), colorOn(w))
}

// renderList writes list's table, statuses in colour when color is set.
func renderList(w io.Writer, l api.SessionList, now time.Time, color bool) error {
	if len(l.Sessions) == 0 {
		fmt.Fprintln(w, "no sessions; create one with: clauderon create --name NAME --prompt PROMPT")
	} else {
		rows := [][]cell{{{text: "NAME"}, {text: "STATUS"}, {text: "ACTIVITY"}, {text: "MODE"}, {text: "BACKEND"}, {text: "IMAGE"}, {text: "CREATED"}, {text: "CHANGES"}, {text: "COST"}, {text: "PROMPT"}}}
		for _, t := range tree(l.Sessions) {
			s := t.s
			rows = append(rows, []cell{
				{text: t.indent + s.Name},
				{text: printable(statusText(s)), color: statusColor(s)},
				{text: printable(activityText(s))},
				{text: string(s.Mode)},
				{text: s.BackendName()},
				{text: printable(s.Image)},
				{text: ago(s.CreatedAt, now)},
				{text: changesText(s)},
				{text: costText(s.Usage)},
				{text: oneLine(s.Prompt, 40)},
			})
		}
		if err := writeTable(w, color, rows); err != nil {
			return err
		}
		for _, s := range l.Sessions {
			if s.Warning != "" {
				fmt.Fprintf(w, "%s %s: %s\n", paint(color, colorYellow, "warning:"), s.Name, printable(s.Warning))
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

// statusColor is the colour of a session's status in list: green running,
// red failed or exited non-zero, yellow starting or warned, dim deleted.
func statusColor(s session.Session) string {
	switch {
	case s.Status == session.StatusFailed,
		s.Status == session.StatusExited && s.ExitCode != nil && *s.ExitCode != 0:
		return colorRed
	case s.Warning != "", s.Status == session.StatusCreating, s.Status == api.StatusUnknown:
		return colorYellow
	case s.Status == session.StatusRunning:
		return colorGreen
	case s.Status == session.StatusDeleted:
		return colorDim
	}
	return ""
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

// treeRow is a session in list's order, indented below its parent.
type treeRow struct {
	indent string
	s      session.Session
}

// tree orders sessions so that each child follows its parent, indented one
// step deeper ("└ "); a child whose parent is gone is listed at the top.
func tree(ss []session.Session) []treeRow {
	byName := map[string]bool{}
	kids := map[string][]session.Session{}
	for _, s := range ss {
		byName[s.Name] = true
	}
	var roots []session.Session
	for _, s := range ss {
		if s.Parent != "" && byName[s.Parent] && s.Parent != s.Name {
			kids[s.Parent] = append(kids[s.Parent], s)
		} else {
			roots = append(roots, s)
		}
	}
	var out []treeRow
	seen := map[string]bool{}
	var walk func(s session.Session, depth int)
	walk = func(s session.Session, depth int) {
		if seen[s.Name] {
			return
		}
		seen[s.Name] = true
		indent := ""
		if depth > 0 {
			indent = strings.Repeat("  ", depth-1) + "└ "
		}
		out = append(out, treeRow{indent, s})
		for _, k := range kids[s.Name] {
			walk(k, depth+1)
		}
	}
	for _, s := range roots {
		walk(s, 0)
	}
	// A cycle (state edited by hand) leaves some unreached: list them too.
	for _, s := range ss {
		walk(s, 0)
	}
	return out
}
