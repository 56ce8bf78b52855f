package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/daemon"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/session"
)

func newDoctorCmd() *cobra.Command {
	var asJSON bool
	var image string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check the engine, the credential, the CA, the image (its user and its claude), and the proxy from a container",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), cmd.OutOrStdout(), image, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&image, "image", session.DefaultImage, "image to check: that it exists, who sessions of it run as, and that claude is on its PATH")
	return cmd
}

func runDoctor(ctx context.Context, w io.Writer, image string, asJSON bool) error {
	var c client.Client
	d, err := c.Doctor(ctx, image)
	var du *client.DaemonUnreachableError
	if errors.As(err, &du) {
		// No daemon: the checks this process can run, and how to start it.
		d, err = doctorWithoutDaemon(ctx, du.Socket, image)
	}
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(w, d); err != nil {
			return err
		}
	} else {
		color := colorOn(w)
		for _, ch := range d.Checks {
			mark := paint(color, colorGreen, "ok") + "  " // padded outside the colour
			if !ch.OK {
				mark = paint(color, colorRed, "FAIL")
			}
			// A detail can quote the image (its user, its claude's output).
			fmt.Fprintf(w, "%s  %-12s %s\n", mark, ch.Name, visiblePath(ch.Detail))
			if !ch.OK && ch.Fix != "" {
				fmt.Fprintf(w, "      fix: %s\n", visiblePath(ch.Fix))
			}
		}
	}
	if !d.OK {
		return exitError{code: 1}
	}
	return nil
}

// doctorWithoutDaemon runs the checks that need no daemon, as a daemon
// started from this shell would see them.
func doctorWithoutDaemon(ctx context.Context, socket, image string) (api.Doctor, error) {
	home, err := config.Home()
	if err != nil {
		return api.Doctor{}, err
	}
	return daemon.DoctorWithoutDaemon(ctx, home, socket, image, secret.NewStoreFor(keyringService(), secret.HolderShell))
}
