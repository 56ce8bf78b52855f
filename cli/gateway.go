package cli

import (
	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/gateway"
)

// newGatewayCmd is what runs first in every session container (see package
// gateway); it is not for people, so it is hidden.
func newGatewayCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "gateway [--listen ADDR] [--socket PATH] -- CMD [ARG...]",
		Short:              "Carry a session container's proxy traffic to the daemon (runs inside the container)",
		Hidden:             true,
		DisableFlagParsing: true,
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return gateway.Main(args)
		},
	}
}
