package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

func newImageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Build or pull the agent image",
	}
	var b api.BuildImage
	build := &cobra.Command{
		Use:   "build",
		Short: "Build the agent image (Claude Code on Debian) through the daemon",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runImageBuild(cmd.Context(), cmd.ErrOrStderr(), b)
		},
	}
	build.Flags().StringVar(&b.Tag, "tag", session.DefaultImage, "tag of the built image")
	build.Flags().StringVar(&b.BaseImage, "base-image", "", "base image instead of debian:bookworm-slim")
	build.Flags().StringVar(&b.ClaudeVersion, "claude-version", "", "Claude Code version from npm (default: latest)")
	build.Flags().StringVar(&b.ClaudeBinary, "claude-binary", "", "use this prebuilt claude binary instead of downloading one")
	pull := &cobra.Command{
		Use:   "pull REF",
		Short: "Pull an image through the daemon",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImagePull(cmd.Context(), cmd.ErrOrStderr(), args[0])
		},
	}
	cmd.AddCommand(build, pull)
	return cmd
}

func runImageBuild(ctx context.Context, w io.Writer, b api.BuildImage) error {
	if b.ClaudeBinary != "" {
		abs, err := filepath.Abs(b.ClaudeBinary)
		if err != nil {
			return err
		}
		b.ClaudeBinary = abs
	}
	var c client.Client
	if err := c.BuildImage(ctx, b, func(line string) { fmt.Fprintln(w, "  "+visiblePath(line)) }); err != nil {
		return fmt.Errorf("building %s: %w", b.Tag, err)
	}
	fmt.Fprintf(w, "built %s\n", b.Tag)
	return nil
}

func runImagePull(ctx context.Context, w io.Writer, ref string) error {
	var c client.Client
	if err := c.PullImage(ctx, ref, func(line string) { fmt.Fprintln(w, "  "+visiblePath(line)) }); err != nil {
		return fmt.Errorf("pulling %s: %w", ref, err)
	}
	fmt.Fprintf(w, "pulled %s\n", ref)
	return nil
}
