package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

func newLandCmd() *cobra.Command {
	var l api.Land
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "land NAME [--branch B] [--force]",
		Short: "Make a session's work a branch of your repository (your checkout is untouched)",
		Long: `Brings a session's work back into your repository as branch clauderon/NAME
(or --branch B): the agent's commits, and what it left uncommitted as one more
"work in progress" commit. Your checkout, index and working tree are not
touched; look at the branch with git log -p, merge or cherry-pick it. An
existing branch is never overwritten without --force. Nothing the agent wrote
is executed: its git config, hooks and filters are not read.

A running session can change its work at any moment, so landing it needs
--tree, the tree that ` + "`clauderon diff`" + ` showed: the land is refused if the
work changed since. A stopped session needs none.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLand(cmd.Context(), cmd.OutOrStdout(), args[0], l, asJSON)
		},
	}
	cmd.Flags().StringVar(&l.Branch, "branch", "", "branch to create (default clauderon/NAME)")
	cmd.Flags().BoolVar(&l.Force, "force", false, "overwrite the branch if it exists")
	cmd.Flags().StringVar(&l.Tree, "tree", "", "land only if the work's tree is still this one (from `clauderon diff`); required while the session runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print what was landed as JSON")
	return cmd
}

func runLand(ctx context.Context, w io.Writer, name string, l api.Land, asJSON bool) error {
	var c client.Client
	b, err := c.Land(ctx, name, l)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, b)
	}
	repo := printable(b.Repository)
	fmt.Fprintf(w, "landed session %s as branch %s (%.12s) in %s\n", name, printable(b.Mark.Branch), b.Mark.Commit, repo)
	fmt.Fprintf(w, "see it with: git -C %s log -p %s\n", repo, printable(b.Mark.Branch))
	return nil
}
