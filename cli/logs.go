package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
)

func newLogsCmd() *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs NAME",
		Short: "Print a session's output",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd.Context(), cmd.OutOrStdout(), args[0], follow)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing until the session exits")
	return cmd
}

func runLogs(ctx context.Context, w io.Writer, name string, follow bool) error {
	var c client.Client
	rc, err := c.Logs(ctx, name, follow)
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(w, rc)
	if ctx.Err() != nil {
		return nil // interrupted -f
	}
	return err
}
