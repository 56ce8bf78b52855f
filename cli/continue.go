package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

func newContinueCmd() *cobra.Command {
	var wait, asJSON bool
	cmd := &cobra.Command{
		Use:   "continue NAME PROMPT",
		Short: "Give a finished print session a further turn, in the same conversation and workspace",
		Long: `continue starts a finished print session's container again, where Claude Code
resumes its conversation (claude --print --resume) with PROMPT, in the same
workspace. With --wait it prints the new turn's result as create --print --wait does.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runContinue(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], args[1], wait, asJSON)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the turn to finish and print its result")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the session as JSON")
	return cmd
}

func runContinue(ctx context.Context, stdout, stderr io.Writer, name, prompt string, wait, asJSON bool) error {
	if err := session.ValidateName(name); err != nil {
		return err
	}
	if strings.TrimSpace(prompt) == "" {
		return fmt.Errorf("the prompt is empty: say what Claude Code should do next, e.g. clauderon continue %s \"now add tests\"", name)
	}
	var c client.Client
	s, err := c.Continue(ctx, name, prompt)
	if err != nil {
		return err
	}
	if !wait {
		if asJSON {
			return printJSON(stdout, s)
		}
		fmt.Fprintf(stdout, "session %s: turn %d running\n", s.Name, s.Turns)
		fmt.Fprintf(stderr, "read its output with: clauderon logs %s -f\n", s.Name)
		return nil
	}
	if s, err = waitFor(ctx, &c, stderr, s.Name, asJSON); err != nil {
		return err
	}
	return reportFinished(stdout, stderr, s, asJSON)
}
