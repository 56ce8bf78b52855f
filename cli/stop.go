package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
)

func newStopCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stop NAME...",
		Short: "Stop sessions (their containers stay until rm)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStop(cmd.Context(), cmd.OutOrStdout(), args)
		},
	}
}

func runStop(ctx context.Context, w io.Writer, names []string) error {
	var c client.Client
	for _, n := range names {
		s, err := c.Stop(ctx, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %s\n", s.Name, statusText(s))
	}
	return nil
}
