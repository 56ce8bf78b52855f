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
	"github.com/clauderon/clauderon/proxy"
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
		// Whoever holds the port may be another local user waiting for a
		// client to send it the token: make that one worthless.
		if rerr := config.RotateMCPToken(d.cfg.Home); rerr != nil {
			d.log.Warn("cannot replace the MCP token", "err", rerr)
		}
		d.mcpErr = fmt.Errorf("the MCP endpoint cannot listen on 127.0.0.1:%d: %w; if another program holds it, it may have received the MCP token, so a new one was made (`clauderon mcp token`); set mcp.port in config.json, or use stdio: `clauderon mcp`", port, err)
		d.log.Warn("the MCP endpoint is off", "err", d.mcpErr)
		return
	}
	// A small pool of its own, inside the global one: anyone on the host
	// can connect here before the token is checked.
	d.mcpLn, d.mcpPort, d.mcpToken = proxy.Limit(l, proxy.NewConnPool(mcpConns), d.global), port, tok
}

// mcpConns bounds the MCP endpoint's open connections, and mcpMaxBody a
// request's body (a prompt is at most 100 KiB).
const (
	mcpConns   = 64
	mcpMaxBody = 2 << 20
)

// serveMCP serves the MCP endpoint until ctx ends.
func (d *Daemon) serveMCP(ctx context.Context, fail func(error)) {
	if d.mcpLn == nil {
		return
	}
	srv := mcpserver.New(mcpserver.Config{Client: d.agentAPI(ctx), Logger: d.log.With("part", "mcp"), Version: Version, Context: ctx})
	h := server.NewStreamableHTTPServer(srv, server.WithEndpointPath("/mcp"))
	hs := &http.Server{
		Handler:           mcpGuard(d.mcpPort, d.mcpToken, http.MaxBytesHandler(h, mcpMaxBody)),
		ReadHeaderTimeout: 10 * time.Second,
		// A kept-alive connection that does nothing gives its place back.
		IdleTimeout:    30 * time.Second,
		MaxHeaderBytes: 16 << 10,
	}
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
