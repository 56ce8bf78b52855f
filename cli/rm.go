package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
)

func newRmCmd() *cobra.Command {
	var force, discard, recursive, asJSON bool
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Delete sessions: their proxy credential stops working at once",
		Long: `Deletes each named session: its proxy credential stops working at once
(new requests get 407 and its open connections are cut), then its container,
workspace and state are removed. A running session needs --force. A session
whose workspace holds work that was never landed or applied is refused: keep
the work with land or apply, or pass --discard. A session that started child
sessions (create --spawn) is refused while they exist, unless --recursive,
which removes them (and theirs) first. Every name is tried even when one
fails; the exit code is 1 if any did.`,
		Aliases: []string{"remove"},
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRm(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, force, discard, recursive, asJSON)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove running sessions too")
	cmd.Flags().BoolVar(&discard, "discard", false, "delete work in the workspace that was never landed or applied")
	cmd.Flags().BoolVarP(&recursive, "recursive", "r", false, "remove the session's child sessions (and theirs) too")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the removed names and errors as JSON")
	return cmd
}

func runRm(ctx context.Context, w, ew io.Writer, names []string, force, discard, recursive, asJSON bool) error {
	var c client.Client
	remove := c.Remove
	if recursive {
		remove = c.RemoveTree
	}
	res := batchResult{Removed: []string{}}
	err := forEach(names, &res, ew, asJSON, func(n string) error {
		if err := remove(ctx, n, force, discard); err != nil {
			return err
		}
		res.Removed = append(res.Removed, n)
		if !asJSON {
			fmt.Fprintf(w, "removed %s\n", n)
		}
		return nil
	})
	if asJSON {
		if perr := printJSON(w, res); perr != nil {
			return perr
		}
	}
	return err
}
