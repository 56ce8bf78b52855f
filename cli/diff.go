package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/workspace"
)

func newDiffCmd() *cobra.Command {
	var stat, asJSON bool
	cmd := &cobra.Command{
		Use:   "diff NAME [--stat] [--json]",
		Short: "Show the work in a session's workspace: its commits and its uncommitted changes",
		Long: `Shows what the session changed since it started, committed and uncommitted,
as one diff against its starting point (your HEAD plus the uncommitted changes
you had, or --from). It reads the workspace from the host without running
anything the agent wrote (no git config, hooks, filters or pagers of its), and
terminal escapes in file names and contents are shown as \x1b-style text.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd.Context(), cmd.OutOrStdout(), args[0], stat, asJSON)
		},
	}
	cmd.Flags().BoolVar(&stat, "stat", false, "list the changed files with their added and removed lines only")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the diff as JSON (with each file's patch unless --stat)")
	return cmd
}

func runDiff(ctx context.Context, w io.Writer, name string, stat, asJSON bool) error {
	var c client.Client
	// Line counts come with the patches, so they are asked for even for --stat.
	d, err := c.Diff(ctx, name, true, 0)
	if err != nil {
		return err
	}
	if asJSON {
		if stat {
			for i := range d.Files {
				d.Files[i].Patch = ""
			}
		}
		return printJSON(w, d)
	}
	if len(d.Files) == 0 {
		fmt.Fprintf(w, "no changes in session %s since it started\n", name)
		return nil
	}
	if stat {
		printStat(w, d)
		if d.Truncated {
			fmt.Fprintf(w, "(line counts stop where the diff grew too large to compute whole; the file list is complete)\n")
		}
		printTree(w, name, d)
		return nil
	}
	for _, f := range d.Files {
		if f.Binary {
			fmt.Fprintf(w, "Binary file %s %s (%d → %d bytes)\n", visiblePath(f.Path), f.Status, f.OldSize, f.NewSize)
			continue
		}
		fmt.Fprint(w, visible(f.Patch))
		if f.Patch != "" && !strings.HasSuffix(f.Patch, "\n") {
			fmt.Fprintln(w)
		}
	}
	if d.Truncated {
		fmt.Fprintf(w, "(the diff was cut short: it is too large to show whole; every changed file is listed by `clauderon diff --stat %s`)\n", name)
	}
	printTree(w, name, d)
	return nil
}

// printTree names the work's tree, so land and apply can take exactly what
// was reviewed while the agent keeps working.
func printTree(w io.Writer, name string, d workspace.Diff) {
	fmt.Fprintf(w, "\nthis is tree %.12s: `clauderon land %s --tree %.12s` (or apply) brings back exactly this\n", d.Tree, name, d.Tree)
}

// printStat prints one line per file and a total, as git diff --stat does.
func printStat(w io.Writer, d workspace.Diff) {
	width := 0
	for _, f := range d.Files {
		width = max(width, len([]rune(visiblePath(f.Path))))
	}
	width = min(width, 60)
	for _, f := range d.Files {
		p := visiblePath(f.Path)
		if f.OldPath != "" {
			p = visiblePath(f.OldPath) + " => " + p
		}
		if f.Binary {
			fmt.Fprintf(w, " %-*s | Bin %d → %d bytes\n", width, p, f.OldSize, f.NewSize)
			continue
		}
		n := f.Additions + f.Deletions
		bar := strings.Repeat("+", min(f.Additions, 40)) + strings.Repeat("-", min(f.Deletions, 40-min(f.Additions, 40)))
		fmt.Fprintf(w, " %-*s | %4d %s\n", width, p, n, bar)
	}
	fmt.Fprintf(w, " %d file(s) changed, %d insertion(s)(+), %d deletion(s)(-)", len(d.Files), d.Additions, d.Deletions)
	var parts []string
	if d.Commits > 0 {
		parts = append(parts, fmt.Sprintf("%d commit(s)", d.Commits))
	}
	if d.Uncommitted {
		parts = append(parts, "uncommitted changes")
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "; from %s", strings.Join(parts, " and "))
	}
	fmt.Fprintln(w)
}
