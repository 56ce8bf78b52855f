package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/mcpserver"
)

// bearer adds the MCP token to every request.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// httpMCPHome is a home whose daemon serves the MCP endpoint on a free port.
func httpMCPHome(t *testing.T) (home string, fake *fakeanthropic.Server, port int) {
	t.Helper()
	home, fake = fakeHome(t)
	editConfig(t, home, func(c *config.Config) { c.MCP.Port = freeTCPPort(t) })
	c, _ := config.Load(home)
	return home, fake, c.MCP.Port
}

// editConfig changes home's config.json.
func editConfig(t *testing.T, home string, edit func(*config.Config)) {
	t.Helper()
	p := filepath.Join(home, config.FileName)
	var cfg config.Config
	b, err := os.ReadFile(p)
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	edit(&cfg)
	b, _ = json.Marshal(cfg)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeTCPPort is a loopback port nothing listens on now.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestMCPHTTP: the daemon's Streamable HTTP endpoint serves the same tools
// to the go-sdk client with the bearer token: a print session with wait
// returns the fake's reply with progress on the way, get_audit shows the
// injection, delete_session removes it. Without the token it answers 401;
// a foreign Host or Origin gets 403, and never reaches the server.
func TestMCPHTTP(t *testing.T) {
	requireDocker(t)
	e := newSessionEnvAt(t, httpMCPHome)
	st, err := e.d.client().Status(context.Background())
	if err != nil || st.MCPURL == "" {
		t.Fatalf("status: %+v %v; want an MCP URL", st, err)
	}
	url := st.MCPURL
	if got := strings.TrimSpace(clOK(t, e.home, "mcp", "url")); got != url {
		t.Errorf("mcp url = %q, status says %q", got, url)
	}
	token := strings.TrimSpace(clOK(t, e.home, "mcp", "token"))

	raw := func(host, origin, auth string) int {
		req, _ := http.NewRequest("POST", url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(url, "/mcp"), "http://"))
	for _, tt := range []struct {
		name, host, origin, auth string
		want                     int
	}{
		{"no token", "", "", "", 401},
		{"wrong token", "", "", "Bearer " + strings.Repeat("0", 64), 401},
		{"foreign Host", "evil.example:" + port, "", "Bearer " + token, 403},
		{"foreign Origin", "", "http://evil.example", "Bearer " + token, 403},
	} {
		if got := raw(tt.host, tt.origin, tt.auth); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}

	var mu sync.Mutex
	var progress []string
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-go-sdk-http", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			mu.Lock()
			progress = append(progress, r.Params.Message)
			mu.Unlock()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearer{token, http.DefaultTransport}}}, nil)
	if err != nil {
		t.Fatalf("connecting over HTTP: %v", err)
	}
	defer cs.Close()
	p := &mcpProc{cs: cs, stderr: &syncbuf.Buffer{}}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil || len(tools.Tools) < 8 {
		t.Fatalf("tools/list over HTTP: %v (%d tools)", err, len(tools.Tools))
	}
	name := sname("mcp-http")
	var created mcpserver.CreateOutput
	p.ok(t, "create_session", map[string]any{"name": name, "prompt": "say hello", "image": e.image, "wait": true, "timeout_seconds": 120}, &created, "http-progress")
	if r := created.Session.Result; !created.Finished || r == nil || r.Text != fakeanthropic.DefaultReply {
		t.Errorf("create_session over HTTP: %+v", created)
	}
	mu.Lock()
	if len(progress) == 0 {
		t.Error("no progress notification over HTTP")
	}
	mu.Unlock()
	var more mcpserver.CreateOutput
	p.ok(t, "continue_session", map[string]any{"name": name, "prompt": "and again", "timeout_seconds": 120}, &more, nil)
	if r := more.Session.Result; !more.Finished || more.Session.Turns != 2 || r == nil || r.Text != fakeanthropic.DefaultReply {
		t.Errorf("continue_session over HTTP: %+v", more)
	}
	res := p.call(t, "get_audit", map[string]any{"name": name}, nil)
	if b, _ := json.Marshal(res.StructuredContent); res.IsError || !strings.Contains(string(b), `"auth_injected":true`) {
		t.Errorf("get_audit over HTTP: %s %s", b, resultText(res))
	}
	if res := p.call(t, "delete_session", map[string]any{"name": name, "discard": true}, nil); res.IsError {
		t.Errorf("delete_session over HTTP: %s", resultText(res))
	}
	if res := p.call(t, "get_session", map[string]any{"name": name}, nil); !res.IsError {
		t.Error("the deleted session is still there")
	}
	assertNoCanaryUnder(t, e.home, Canary)
}
