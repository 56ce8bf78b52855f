package mcpserver_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/daemon"
	"github.com/clauderon/clauderon/mcpserver"
	"github.com/clauderon/clauderon/secret"
)

// canary is the daemon's "real" token: no tool answer may hold it.
const canary = "sk-ant-oat01-CANARY-mcpserver-test"

// env is a real daemon on a fake engine, its MCP server, and an
// in-process MCP client of it.
type env struct {
	home   string
	engine *fakeEngine
	api    *client.Client
	mcp    *mcpclient.Client
	tools  map[string]mcp.Tool

	mu    sync.Mutex
	notes []mcp.JSONRPCNotification
}

type envOpt struct {
	legacy  bool                             // the initialize handshake (2025-11-25), not 2026-07-28
	elicit  mcpclient.ElicitationHandler     // declares elicitation when set
	apiFunc func(home string) *client.Client // the MCP server's client; the daemon's when nil
}

func startDaemon(t *testing.T) (home string, eng *fakeEngine, sock string) {
	t.Helper()
	home = t.TempDir()
	// No MCP HTTP endpoint: daemons of tests running at once would meet on its port.
	if err := os.WriteFile(filepath.Join(home, "config.json"), []byte(`{"mcp":{"port":-1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	eng = newFakeEngine()
	ready := make(chan struct{})
	d, err := daemon.New(context.Background(), daemon.Config{
		Home:      home,
		ProxyPort: daemon.AnyProxyPort,
		Credentials: secret.Env{Getenv: func(k string) string {
			return map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": canary}[k]
		}},
		Backend: eng,
		Logger:  slog.New(slog.DiscardHandler),
		Ready:   func() { close(ready) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, nil) }()
	<-ready
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon Run: %v", err)
		}
	})
	return home, eng, d.Socket()
}

func newEnv(t *testing.T, o envOpt) *env {
	t.Helper()
	home, eng, sock := startDaemon(t)
	e := &env{home: home, engine: eng, api: &client.Client{Socket: sock}}
	mcpAPI := e.api
	if o.apiFunc != nil {
		mcpAPI = o.apiFunc(home)
	}
	srv := mcpserver.New(mcpserver.Config{Client: mcpAPI, Version: "test"})
	var opts []mcpclient.ClientOption
	if o.elicit != nil {
		opts = append(opts, mcpclient.WithElicitationHandler(o.elicit))
	}
	if o.legacy {
		opts = append(opts, mcpclient.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	}
	c, err := mcpclient.NewInProcessClientWithOptions(srv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		e.mu.Lock()
		e.notes = append(e.notes, n)
		e.mu.Unlock()
	})
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "mcpserver-test", Version: "1"}
	if o.elicit != nil {
		init.Params.Capabilities.Elicitation = &mcp.ElicitationCapability{}
	}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if res.ServerInfo.Name != "clauderon" {
		t.Errorf("server name %q", res.ServerInfo.Name)
	}
	e.mcp = c
	lt, err := c.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	e.tools = map[string]mcp.Tool{}
	for _, tl := range lt.Tools {
		e.tools[tl.Name] = tl
	}
	return e
}

// call calls a tool and fails the test on a protocol error: every failure
// of a known tool must come back as a tool result. A successful result's
// structured content is checked against the tool's output schema, and no
// result may hold the canary.
func (e *env) call(t *testing.T, name string, args any, meta ...*mcp.Meta) *mcp.CallToolResult {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	if len(meta) > 0 {
		req.Params.Meta = meta[0]
	}
	res, err := e.mcp.CallTool(context.Background(), req)
	if err != nil {
		t.Fatalf("%s: a protocol error, want a tool result: %v", name, err)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), canary) {
		t.Errorf("%s: the answer holds the canary token", name)
	}
	if !res.IsError {
		checkSchema(t, e.tools[name], res)
	}
	return res
}

// ok calls a tool that must succeed and decodes its structured content.
func (e *env) ok(t *testing.T, name string, args any, out any, meta ...*mcp.Meta) {
	t.Helper()
	reflect.ValueOf(out).Elem().SetZero()
	res := e.call(t, name, args, meta...)
	if res.IsError {
		t.Fatalf("%s(%v): tool error %q", name, args, text(res))
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: structured content %s: %v", name, b, err)
	}
	var fromText any
	if err := json.Unmarshal([]byte(text(res)), &fromText); err != nil {
		t.Errorf("%s: the text fallback is not the JSON of the result: %v", name, err)
	}
}

// fails calls a tool that must fail with a tool error containing want.
func (e *env) fails(t *testing.T, name string, args any, want ...string) string {
	t.Helper()
	res := e.call(t, name, args)
	msg := text(res)
	if !res.IsError {
		t.Fatalf("%s(%v) succeeded with %s, want a tool error", name, args, msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("%s(%v): error %q lacks %q", name, args, msg, w)
		}
	}
	return msg
}

func text(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func (e *env) notifications(method string) []mcp.JSONRPCNotification {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []mcp.JSONRPCNotification
	for _, n := range e.notes {
		if n.Method == method {
			out = append(out, n)
		}
	}
	return out
}

// checkSchema validates a result's structured content against the tool's
// declared output schema with an independent validator.
func checkSchema(t *testing.T, tl mcp.Tool, res *mcp.CallToolResult) {
	t.Helper()
	if res.StructuredContent == nil {
		t.Errorf("%s: no structured content", tl.Name)
		return
	}
	sch := compile(t, tl.Name, tl.OutputSchema)
	b, _ := json.Marshal(res.StructuredContent)
	v, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(v); err != nil {
		t.Errorf("%s: structured content does not match the output schema: %v\n%s", tl.Name, err, b)
	}
}

func compile(t *testing.T, name string, schema any) *jsonschema.Schema {
	t.Helper()
	b, err := json.Marshal(schema)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("mem://"+name+".json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("mem://" + name + ".json")
	if err != nil {
		t.Fatalf("%s: the schema does not compile: %v\n%s", name, err, b)
	}
	return sch
}
