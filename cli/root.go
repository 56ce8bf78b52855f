// Package cli implements clauderon's command line: one file per subcommand,
// each a thin layer over the daemon's client or the in-process proxy.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries a child's exit code through cobra without printing.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// codedError is an error printed as usual but with an exit code of its own,
// such as 127 for a command that cannot be found.
type codedError struct {
	code int
	err  error
}

func (e codedError) Error() string { return e.err.Error() }
func (e codedError) Unwrap() error { return e.err }

// Main runs the command line and returns the process exit code.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args, os.Stdout, os.Stderr)
}

// run runs the command line with stdout and stderr and returns its exit
// code: a child's own for exitError, 2 for a usage error, else 1 on error.
// Under --json the error is printed as JSON on stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	var ee exitError
	var ce codedError
	var ue *usageError
	code := 1
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ce):
		code, err = ce.code, ce.err
	case errors.As(err, &ue):
		code = 2
	case cmd != nil && !cmd.Runnable():
		// Only finding the command can fail here: an unknown one.
		ue = &usageError{cmd: cmd, err: err}
		code, err = 2, ue
	}
	if wantsJSON(cmd, args) {
		printErrorJSON(stderr, err)
		return code
	}
	printError(stderr, err)
	if ue != nil {
		ue.print(stderr)
	}
	return code
}

// printError prints a command's error. Its text can hold what a container
// wrote (a file or branch name in a workspace's error), so nothing in it may
// drive the terminal.
func printError(w io.Writer, err error) {
	fmt.Fprintln(w, "clauderon:", visible(err.Error()))
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "clauderon",
		Short: "Run Claude Code in containers that hold no real credential",
		Long: `clauderon runs Claude Code in Docker containers (or host commands) that never
see your Anthropic token. A proxy on the host removes the placeholder
credential they send and injects the real one from the OS keychain.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       thisVersion().String(),
	}
	root.SetVersionTemplate("{{.Version}}")
	root.CompletionOptions.DisableDefaultCmd = true // newCompletionCmd instead
	root.AddCommand(
		newExecCmd(),
		newDaemonCmd(),
		newCreateCmd(),
		newContinueCmd(),
		newStartCmd(),
		newRestartCmd(),
		newResultCmd(),
		newListCmd(),
		newEventsCmd(),
		newAttachCmd(),
		newLogsCmd(),
		newStopCmd(),
		newRmCmd(),
		newDiffCmd(),
		newLandCmd(),
		newApplyCmd(),
		newEgressCmd(),
		newBudgetCmd(),
		newDoctorCmd(),
		newImageCmd(),
		newTokenCmd(),
		newGatewayCmd(),
		newHookCmd(),
		newPodInitCmd(),
		newK8sCmd(k8sDefaults),
		newMCPCmd(),
		newVersionCmd(),
		newStatusCmd(),
		newUICmd(),
		newCompletionCmd(),
	)
	markUsageErrors(root)
	completeArgs(root)
	return root
}
