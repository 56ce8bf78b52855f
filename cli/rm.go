package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
)

func newRmCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm NAME...",
		Short: "Delete sessions: their proxy credential stops working at once",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRm(cmd.Context(), cmd.OutOrStdout(), args, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove running sessions too")
	return cmd
}

func runRm(ctx context.Context, w io.Writer, names []string, force bool) error {
	var c client.Client
	for _, n := range names {
		if err := c.Remove(ctx, n, force); err != nil {
			return err
		}
		fmt.Fprintf(w, "removed %s\n", n)
	}
	return nil
}
