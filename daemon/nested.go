package daemon

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/mcpserver"
)

// A session created with --spawn reaches clauderon's MCP server at
// http://clauderon.internal/mcp through its own proxy (proxy.InternalHost),
// with no token: the proxy hands the request to nestedMCP.handler for the
// session it authenticated. Each such session gets its own MCP server,
// whose client is served childRoutes for it alone (handlerFor's parent), so
// what it asks is always asked as that session, and reaches only its own
// children.

// nestedMCP holds each spawning session's MCP handler.
type nestedMCP struct {
	d   *Daemon
	mu  sync.Mutex
	ctx context.Context // set by start; nil until the daemon runs
	by  map[string]*nestedServer
}

type nestedServer struct {
	h    http.Handler
	stop context.CancelFunc
}

// start lets handler make servers, which live until ctx ends.
func (n *nestedMCP) start(ctx context.Context) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.ctx = ctx
}

// handler is what session name is served at proxy.InternalHost: /hook
// for every gateway session (hook.go), and /mcp for one that may spawn;
// nil for a session of neither kind.
func (n *nestedMCP) handler(name string) http.Handler {
	// A cluster session reaches the proxy only through the cluster's
	// tunnel, as a gateway session only through its socket.
	hook := n.d.sessions.GatewayOnly(name) || n.d.sessions.ProxyClass(name) != ""
	if !hook {
		return n.mcpHandler(name)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == hookPath {
			n.d.serveHook(name, w, r)
			return
		}
		if h := n.mcpHandler(name); h != nil {
			h.ServeHTTP(w, r)
			return
		}
		writeError(w, errNoSpawn)
	})
}

// mcpHandler is session name's MCP endpoint, or nil when it may not spawn
// (or no longer may: its servers are dropped then).
func (n *nestedMCP) mcpHandler(name string) http.Handler {
	ok := n.d.sessions.CanSpawn(name)
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ctx == nil {
		return nil
	}
	if s := n.by[name]; s != nil {
		if ok {
			return s.h
		}
		s.stop()
		delete(n.by, name)
	}
	if !ok {
		return nil
	}
	// Drop the servers of sessions gone since.
	for other, s := range n.by {
		if !n.d.sessions.CanSpawn(other) {
			s.stop()
			delete(n.by, other)
		}
	}
	ctx, stop := context.WithCancel(n.ctx)
	srv := mcpserver.New(mcpserver.Config{Client: n.d.childAPI(ctx, name), Logger: n.d.log.With("part", "mcp", "parent", name), Version: Version, Context: ctx})
	// Stateless: a container can send initialize after initialize, and
	// none of them may leave state behind in the daemon. Host checks are
	// the proxy's, which authenticated the caller; a loopback TCP listener
	// would otherwise refuse the reserved name as DNS rebinding.
	mh := server.NewStreamableHTTPServer(srv, server.WithEndpointPath("/mcp"), server.WithStateLess(true), server.WithDisableLocalhostProtection(true))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" {
			writeError(w, errBrowser)
			return
		}
		mh.ServeHTTP(w, r)
	})
	limited := http.MaxBytesHandler(h, mcpMaxBody)
	if n.by == nil {
		n.by = map[string]*nestedServer{}
	}
	n.by[name] = &nestedServer{h: limited, stop: stop}
	return limited
}

// childAPI serves childRoutes for parent in process until ctx ends, and
// returns a client of it.
func (d *Daemon) childAPI(ctx context.Context, parent string) *client.Client {
	l := newPipeListener()
	srv := &http.Server{Handler: d.handlerFor(func(rt route) bool { return childRoutes[rt.method+" "+rt.pattern] }, parent), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	context.AfterFunc(ctx, func() { srv.Close() })
	return &client.Client{Socket: "in-process", Dial: l.dial}
}

// childRoutes are what a session's own Claude Code may do with its
// children: agentRoutes without land (a child has no workspace of the
// user's) and the daemon's status (which names host paths).
var childRoutes = map[string]bool{
	"GET /sessions":                  true,
	"POST /sessions":                 true,
	"GET /sessions/{name}":           true,
	"DELETE /sessions/{name}":        true,
	"POST /sessions/{name}/stop":     true,
	"POST /sessions/{name}/continue": true,
	"GET /sessions/{name}/wait":      true,
	"GET /sessions/{name}/logs":      true,
	"GET /sessions/{name}/diff":      true,
	"GET /sessions/{name}/egress":    true,
	"GET /sessions/{name}/audit":     true,
	// Its own children's events only (forChildOf): what feeds its MCP
	// server's resource subscriptions.
	"GET /events": true,
}

// parentHeader carries, inside the daemon only, the session a request is
// made for: handlerFor sets it from its own parent and drops whatever a
// request brought, so no caller can claim one.
const parentHeader = "Clauderon-Internal-Parent"

// callerParent is the session a request acts for ("" for the user).
func callerParent(r *http.Request) string { return r.Header.Get(parentHeader) }
