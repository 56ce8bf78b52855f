package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/termsafe"
)

type logsFlags struct {
	follow, raw, json bool
}

func newLogsCmd() *cobra.Command {
	var f logsFlags
	cmd := &cobra.Command{
		Use:   "logs NAME [-f] [--raw | --json]",
		Short: "Print a session's output, safe to read on a terminal",
		Long: `Prints what a session's Claude Code wrote.

A print session's output is its conversation (Claude Code's stream-json),
shown as text: what the assistant said, each tool call with its input
summarised and the start of its result, and each turn's outcome with its
cost. --json (or --raw) prints the stream-json lines themselves.

An interactive session's output is what its TUI drew on a terminal. It is
shown as plain text: the terminal's escape sequences are taken out, so
nothing in it can query your terminal (and have the answer typed into your
shell), set its title or clipboard, or clear it. --raw prints the bytes as
they were written, to pipe or save them.

-f keeps printing as the session writes, until it ends.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd.Context(), cmd.OutOrStdout(), args[0], f)
		},
	}
	cmd.Flags().BoolVarP(&f.follow, "follow", "f", false, "keep printing until the session exits")
	cmd.Flags().BoolVar(&f.raw, "raw", false, "print the output as it was written, escape sequences included (to pipe or save it)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print a print session's stream-json lines as they were written")
	return cmd
}

func runLogs(ctx context.Context, w io.Writer, name string, f logsFlags) error {
	var c client.Client
	s, err := c.Get(ctx, name)
	if err != nil {
		return err
	}
	if f.json && s.Mode != session.ModePrint {
		return fmt.Errorf("session %s is interactive: its output is a terminal's, not JSON; --raw prints its bytes", name)
	}
	rc, err := c.Logs(ctx, name, f.follow)
	if err != nil {
		return err
	}
	defer rc.Close()
	switch {
	case f.raw || f.json:
		_, err = io.Copy(w, rc)
	case s.Mode == session.ModePrint:
		err = renderConversation(w, rc, colorOn(w))
	default:
		tw := termsafe.NewTextWriter(w)
		_, err = io.Copy(tw, rc)
		if cerr := tw.Close(); err == nil {
			err = cerr
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted -f
	}
	return err
}
