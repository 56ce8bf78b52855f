package cli

import (
	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/gateway"
)

// newPodInitCmd is what a session pod's init container runs on
// Kubernetes (see gateway.PodInit); not for people, so it is hidden.
func newPodInitCmd() *cobra.Command {
	return &cobra.Command{
		Use:                "pod-init [--install DST] [--copy SRC=DST]...",
		Short:              "Prepare a session pod on Kubernetes (runs in its init container)",
		Hidden:             true,
		DisableFlagParsing: true,
		SilenceUsage:       true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return gateway.PodInit(args)
		},
	}
}
