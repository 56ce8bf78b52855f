package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

func newApplyCmd() *cobra.Command {
	var asJSON bool
	var a api.Apply
	cmd := &cobra.Command{
		Use:   "apply NAME",
		Short: "Write a session's work into your working tree, uncommitted",
		Long: `Applies the session's changes (its commits and its uncommitted work) to the
files of your working tree, like git apply: nothing is committed or staged.
It refuses, and writes nothing, when a file it would change was changed in
your tree since the session started, or would be overwritten; then land the
work as a branch instead. It never writes through a link, into .git, or
outside your repository.

A running session needs --tree, as land does.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runApply(cmd.Context(), cmd.OutOrStdout(), args[0], a, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was applied as JSON")
	cmd.Flags().StringVar(&a.Tree, "tree", "", "apply only if the work's tree is still this one (from `clauderon diff`); required while the session runs")
	return cmd
}

func runApply(ctx context.Context, w io.Writer, name string, a api.Apply, asJSON bool) error {
	var c client.Client
	b, err := c.Apply(ctx, name, a)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, b)
	}
	repo := printable(b.Repository)
	fmt.Fprintf(w, "applied session %s's changes to %s (uncommitted)\n", name, repo)
	fmt.Fprintf(w, "review them with: git -C %s diff\n", repo)
	return nil
}
