package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

func newStartCmd() *cobra.Command {
	var attach, asJSON bool
	cmd := &cobra.Command{
		Use:   "start NAME",
		Short: "Start a stopped interactive session again, its conversation kept",
		Long: `start runs a stopped or exited interactive session's container again. Claude
Code continues the session's latest conversation (claude --continue) in the
same workspace, with everything it wrote. A print session takes a further
turn with clauderon continue instead.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStartAgain(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], false, attach, asJSON)
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach the terminal once it runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the session as JSON")
	return cmd
}

func newRestartCmd() *cobra.Command {
	var attach, asJSON bool
	cmd := &cobra.Command{
		Use:   "restart NAME",
		Short: "Stop a running interactive session and start it again, its conversation kept",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStartAgain(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], true, attach, asJSON)
		},
	}
	cmd.Flags().BoolVarP(&attach, "attach", "a", false, "attach the terminal once it runs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the session as JSON")
	return cmd
}

func runStartAgain(ctx context.Context, stdout, stderr io.Writer, name string, restart, attach, asJSON bool) error {
	if err := session.ValidateName(name); err != nil {
		return err
	}
	if attach && asJSON {
		return fmt.Errorf("--attach and --json cannot be used together: the terminal is the session's once attached")
	}
	var c client.Client
	var s api.Session
	var err error
	if restart {
		s, err = c.Restart(ctx, name)
	} else {
		s, err = c.Start(ctx, name)
	}
	if err != nil {
		return err
	}
	switch {
	case asJSON:
		return printJSON(stdout, s)
	case attach:
		return runAttach(ctx, name)
	}
	fmt.Fprintf(stdout, "started session %s (%s)\n", s.Name, s.Status)
	fmt.Fprintf(stderr, "attach with: clauderon attach %s\n", s.Name)
	return nil
}
