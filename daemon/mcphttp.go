package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/mcpserver"
)

// The daemon serves the MCP server over Streamable HTTP at
// http://127.0.0.1:<mcp.port>/mcp, behind mcpGuard. Its tools reach the
// LocalAPI through agentAPI: the session routes only.

// listenMCP binds the MCP endpoint, unless config.json turns it off. A port
// another program holds is a warning, not a failure: stdio still works.
func (d *Daemon) listenMCP() {
	port := d.conf.MCPPort()
	if port == 0 {
		return
	}
	tok, err := config.MCPToken(d.cfg.Home)
	if err != nil {
		d.log.Warn("the MCP endpoint is off: no token", "err", err)
		d.mcpErr = err
		return
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		d.mcpErr = fmt.Errorf("the MCP endpoint cannot listen on 127.0.0.1:%d: %w (set mcp.port in config.json, or use stdio: `clauderon mcp`)", port, err)
		d.log.Warn("the MCP endpoint is off", "err", d.mcpErr)
		return
	}
	d.mcpLn, d.mcpPort, d.mcpToken = l, port, tok
}

// serveMCP serves the MCP endpoint until ctx ends.
func (d *Daemon) serveMCP(ctx context.Context, fail func(error)) {
	if d.mcpLn == nil {
		return
	}
	srv := mcpserver.New(mcpserver.Config{Client: d.agentAPI(ctx), Logger: d.log.With("part", "mcp"), Version: Version})
	h := server.NewStreamableHTTPServer(srv, server.WithEndpointPath("/mcp"))
	hs := &http.Server{Handler: mcpGuard(d.mcpPort, d.mcpToken, h), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		err := hs.Serve(d.mcpLn)
		if err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
			d.log.Error("the MCP endpoint stopped", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	})
	_ = fail
}
