package cli

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/mark3labs/mcp-go/server"
	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/daemon"
	"github.com/clauderon/clauderon/mcpserver"
)

// mcpLogFile is where `clauderon mcp` logs, inside CLAUDERON_HOME: stdout
// carries the protocol only.
const mcpLogFile = "mcp.log"

// mcpWorkers is how many tool calls one stdio server runs at once; a
// create_session that waits holds one for as long as it waits.
const mcpWorkers = 32

func newMCPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mcp",
		Short: "Serve clauderon's MCP tools over stdio (for Claude Code, Claude Desktop or any MCP host)",
		Long: `Speaks the Model Context Protocol on stdin and stdout, so that an agent can create
sandboxed Claude Code sessions, read their results and diffs, and land their work.
It starts the daemon when none runs (logging to $CLAUDERON_HOME/daemon.log) and
logs itself to $CLAUDERON_HOME/mcp.log. Add it to Claude Code with:

  claude mcp add clauderon -- clauderon mcp`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMCP(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	addMCPSubcommands(cmd)
	return cmd
}

func runMCP(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	home, err := config.Home()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(home, mcpLogFile)
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cannot open the MCP server's log: %w", err)
	}
	defer logf.Close()
	// Nothing but protocol frames may reach the real stdout: whatever
	// else in this process prints there lands in the log instead.
	if stdout == os.Stdout {
		os.Stdout = logf
		defer func() { os.Stdout = stdout.(*os.File) }()
	}
	lg := slog.New(slog.NewTextHandler(logf, nil)).With("pid", os.Getpid())
	slog.SetDefault(lg)

	st, err := client.EnsureDaemon(ctx)
	if err != nil {
		lg.Error("no daemon", "err", err)
		return err
	}
	lg.Info("serving MCP over stdio", "daemon_pid", st.PID, "daemon_version", st.Version)
	srv := mcpserver.New(mcpserver.Config{Client: &client.Client{}, Logger: lg, Version: daemon.Version, Context: ctx})
	stdio := server.NewStdioServer(srv)
	stdio.SetErrorLogger(log.New(logf, "mcp-go: ", log.LstdFlags))
	server.WithWorkerPoolSize(mcpWorkers)(stdio)
	err = stdio.Listen(ctx, stdin, stdout)
	if err != nil && ctx.Err() == nil && err != io.EOF {
		lg.Error("stdio server ended", "err", err)
		return err
	}
	lg.Info("stdin closed; exiting")
	return nil
}
