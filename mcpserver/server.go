// Package mcpserver serves clauderon's sessions as MCP tools, so that an
// agent can hand work to sandboxed Claude Code sessions, watch them, read
// their results and diffs, and land what it accepts. It reaches the daemon
// only through its LocalAPI client.
package mcpserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/clauderon/clauderon/client"
)

// Config is what the server needs.
type Config struct {
	// Client reaches the daemon's LocalAPI.
	Client *client.Client
	// Logger receives one line per request; nil discards. In stdio mode it
	// must not write to stdout.
	Logger *slog.Logger
	// Version is reported in the initialize answer.
	Version string
	// Context is the server's life: the daemon event watch that feeds
	// resource subscriptions ends with it. Nil: the watch ends only when
	// its last subscription goes.
	Context context.Context
}

const instructions = `clauderon runs Claude Code in Docker containers that hold no real credential: a proxy on the host injects it.
Hand a task to a session with create_session (print mode runs the prompt once and returns the answer; workdir gives it a copy of a host directory, never the directory itself).
Review its work with get_session_diff, bring it back as a git branch with land_session, and delete it with delete_session.
get_audit shows every request the session made through the proxy.`

// New returns the MCP server of cfg's daemon, with every tool and the
// session resources registered; a client may subscribe to a session's
// resource. Serve it over stdio with
// server.ServeStdio, or over HTTP with server.NewStreamableHTTPServer.
func New(cfg Config) *server.MCPServer {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	subs := newSubscriptions(cfg.Client, log, cfg.Context)
	s := server.NewMCPServer("clauderon", cfg.Version,
		server.WithTitle("clauderon"),
		server.WithInstructions(instructions),
		server.WithToolCapabilities(false),
		// Subscribe: a session's resource is notified when it changes
		// (subscribe.go). No listChanged: resources/list holds no session
		// (they are the template's), so it never changes.
		server.WithResourceCapabilities(true, false),
		server.WithHooks(subs.hooks()),
		server.WithStrictInputSchemaDefault(),
		server.WithOutputSchemaValidation(),
		server.WithLogger(log),
	)
	t := &tools{c: cfg.Client, log: log, inputs: map[string]*inputSchema{}}
	for _, tl := range t.all() {
		s.AddTool(tl.def, t.wrap(tl))
	}
	// AddTool made each schema strict (no unknown arguments): check
	// arguments against what tools/list shows.
	for name, st := range s.ListTools() {
		in, err := compileInput(st.Tool)
		if err != nil {
			log.Error("a tool's input schema does not compile; its arguments are checked by its handler only", "tool", name, "err", err)
			continue
		}
		t.inputs[name] = in
	}
	s.AddResourceTemplate(sessionResource(), t.readSessionResource)
	return s
}

// tools holds what every tool's handler uses.
type tools struct {
	c      *client.Client
	log    *slog.Logger
	inputs map[string]*inputSchema // by tool name; written only in New
}

// tool is one MCP tool: its definition and its handler. A handler returns
// its structured result, or an error the wrapper turns into a tool error.
type tool struct {
	def    mcp.Tool
	handle func(ctx context.Context, req mcp.CallToolRequest) (any, error)
}

func (t *tools) all() []tool {
	return []tool{
		t.createSession(), t.continueSession(), t.listSessions(), t.getSession(), t.getSessionOutput(),
		t.getSessionDiff(), t.landSession(), t.stopSession(), t.deleteSession(), t.getAudit(),
	}
}

// wrap is the one place a handler's outcome becomes an MCP result: a Go
// error (or a panic) becomes a tool error whose text says what to change,
// never a protocol error; a value becomes structured content with its JSON
// as the text fallback, every string escaped so that nothing a container
// wrote reaches a terminal as a control sequence.
func (t *tools) wrap(tl tool) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (res *mcp.CallToolResult, err error) {
		defer func() {
			if r := recover(); r != nil {
				t.log.Error("tool handler panicked", "tool", tl.def.Name, "panic", r, "stack", string(debug.Stack()))
				res, err = mcp.NewToolResultError(fmt.Sprintf("clauderon's %s failed unexpectedly (a bug; the server's log has the details); try again", tl.def.Name)), nil
			}
		}()
		raw, rerr := rawArguments(req)
		if rerr == nil {
			if in := t.inputs[tl.def.Name]; in != nil {
				rerr = in.check(raw)
			}
		}
		if rerr != nil {
			return mcp.NewToolResultError(explain(ctx, rerr)), nil
		}
		out, herr := tl.handle(ctx, req)
		if herr != nil {
			t.log.Info("tool error", "tool", tl.def.Name, "err", herr)
			return mcp.NewToolResultError(explain(ctx, herr)), nil
		}
		if r, ok := out.(*mcp.CallToolResult); ok {
			return r, nil // an elicitation round trip
		}
		structured, text, merr := structure(out)
		if merr != nil {
			return mcp.NewToolResultError(fmt.Sprintf("clauderon could not encode the answer of %s: %v", tl.def.Name, merr)), nil
		}
		return mcp.NewToolResultStructured(structured, text), nil
	}
}

// structure renders out as structured content (every string made visible)
// and its indented JSON text.
func structure(out any) (any, string, error) {
	b, err := json.Marshal(out)
	if err != nil {
		return nil, "", err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, "", err
	}
	v = visibleAll(v)
	text, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, "", err
	}
	return v, string(text), nil
}

// visibleAll escapes every string (and map key) in a decoded JSON value.
func visibleAll(v any) any {
	switch x := v.(type) {
	case string:
		return visible(x)
	case []any:
		for i := range x {
			x[i] = visibleAll(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[visible(k)] = visibleAll(e)
		}
		return out
	}
	return v
}
