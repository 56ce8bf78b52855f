package cli

import (
	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/gateway"
)

// newGatewayCmd is what runs first in every session container (see package
// gateway), or, with a leading --cluster, the cluster's gateway Deployment;
// it is not for people, so it is hidden.
func newGatewayCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "gateway [--listen ADDR] [--socket PATH] -- CMD [ARG...] | gateway --cluster [--listen ADDR] [--tunnel ADDR]",
		Short:              "Carry a session container's proxy traffic to the daemon (runs inside the container)",
		Hidden:             true,
		DisableFlagParsing: true,
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && args[0] == "--cluster" {
				return gateway.ClusterMain(args[1:])
			}
			return gateway.Main(args)
		},
	}
}
