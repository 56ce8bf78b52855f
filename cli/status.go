package cli

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

func newStatusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running daemon: its pid, home, proxy port and addresses, MCP endpoint",
		Long: `Shows the daemon that serves this CLAUDERON_HOME: its pid, its LocalAPI
version, its home, the proxy's port (the one ` + "`daemon --proxy-port 0`" + ` picked)
and the addresses it listens on, the MCP endpoint's URL and the web UI's (or why it is
off). Exits 1 when no daemon answers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var c client.Client
			return runStatus(cmd.Context(), cmd.OutOrStdout(), &c, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func runStatus(ctx context.Context, w io.Writer, c *client.Client, asJSON bool) error {
	st, err := c.Status(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(w, st)
	}
	sock, _ := c.SocketPath()
	_, err = io.WriteString(w, statusReport(st, sock))
	return err
}

// statusReport is status's text: one line per part.
func statusReport(st api.DaemonStatus, socket string) string {
	mcp := printable(st.MCPURL)
	switch {
	case st.MCPError != "":
		mcp = "off: " + printable(st.MCPError)
	case mcp == "":
		mcp = "off (mcp.port in config.json)"
	}
	ui := printable(st.UIURL)
	switch {
	case st.UIError != "":
		ui = "off: " + printable(st.UIError)
	case ui == "":
		ui = "off (ui.port in config.json)"
	default:
		ui += " (log in with `clauderon ui`)"
	}
	addrs := make([]string, len(st.ProxyAddrs))
	for i, a := range st.ProxyAddrs {
		addrs[i] = printable(a)
	}
	proxy := "port " + strconv.Itoa(st.ProxyPort)
	if len(addrs) > 0 {
		proxy += ", listening on " + strings.Join(addrs, ", ")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "daemon   running, pid %d, LocalAPI %s\n", st.PID, printable(st.Version))
	fmt.Fprintf(&b, "home     %s\n", printable(st.Home))
	if socket != "" {
		fmt.Fprintf(&b, "socket   %s\n", printable(socket))
	}
	fmt.Fprintf(&b, "proxy    %s\n", proxy)
	fmt.Fprintf(&b, "mcp      %s\n", mcp)
	fmt.Fprintf(&b, "ui       %s\n", ui)
	return b.String()
}
