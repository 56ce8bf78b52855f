package cli

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/gateway"
)

// newHookCmd is what Claude Code's hooks run in a session's container to
// report its activity (see gateway.Hook); it is not for people, so it is
// hidden. It always exits 0 and prints nothing: a report that fails must
// not stop or change the agent.
func newHookCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "hook [EVENT]",
		Short:              "Report a Claude Code hook event to clauderon (runs inside the container)",
		Hidden:             true,
		DisableFlagParsing: true,
		SilenceUsage:       true,
		Run: func(cmd *cobra.Command, args []string) {
			_ = gateway.Hook(cmd.Context(), args, os.Stdin, os.Getenv)
		},
	}
}
