package mcpserver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/daemon"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/mcpserver"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/secret"
)

const updated = string(mcp.MethodNotificationResourceUpdated)

func sessionURI(name string) string { return "clauderon://sessions/" + name }

// tap is the MCP server's way to the daemon: the daemon's socket, through
// a transport that counts the event streams open on it, can cut every
// connection (the daemon going away), and can refuse new streams.
type tap struct {
	sock string
	rt   *http.Transport

	mu      sync.Mutex
	open    int // event streams open now
	most    int // the most ever open at once
	watches int // event streams ever opened
	conns   []net.Conn
	block   bool // refuse GET /events with a 503
}

func newTap(sock string) *tap {
	t := &tap{sock: sock}
	t.rt = &http.Transport{DisableCompression: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", sock)
		if err == nil {
			t.mu.Lock()
			t.conns = append(t.conns, c)
			t.mu.Unlock()
		}
		return c, err
	}}
	return t
}

func (t *tap) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != api.APIPrefix+"/events" {
		return t.rt.RoundTrip(r)
	}
	t.mu.Lock()
	if t.block {
		t.mu.Unlock()
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"error":"the test refuses event streams for now","code":"unavailable"}`)), Request: r}, nil
	}
	t.mu.Unlock()
	resp, err := t.rt.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	t.mu.Lock()
	t.open++
	t.watches++
	t.most = max(t.most, t.open)
	t.mu.Unlock()
	resp.Body = &countedBody{ReadCloser: resp.Body, t: t}
	return resp, nil
}

type countedBody struct {
	io.ReadCloser
	t    *tap
	once sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() {
		b.t.mu.Lock()
		b.t.open--
		b.t.mu.Unlock()
	})
	return b.ReadCloser.Close()
}

// cut closes every connection to the daemon, as a daemon that went away.
func (t *tap) cut() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		c.Close()
	}
	t.conns = nil
}

func (t *tap) setBlock(b bool) {
	t.mu.Lock()
	t.block = b
	t.mu.Unlock()
}

func (t *tap) counts() (open, most, watches int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.open, t.most, t.watches
}

// subEnv is a real daemon on the fake engine and one MCP server of it,
// reached through a tap, which any number of MCP clients connect to.
type subEnv struct {
	api *client.Client
	tap *tap
	srv *server.MCPServer
}

func newSubEnv(t *testing.T) *subEnv {
	t.Helper()
	_, _, sock := startDaemon(t)
	tp := newTap(sock)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := mcpserver.New(mcpserver.Config{Client: &client.Client{Socket: sock, Transport: tp}, Version: "test", Context: ctx})
	return &subEnv{api: &client.Client{Socket: sock}, tap: tp, srv: srv}
}

// subClient is one MCP client, and the notifications it received.
type subClient struct {
	c *mcpclient.Client

	mu    sync.Mutex
	notes []mcp.JSONRPCNotification
}

func (e *subEnv) connect(t *testing.T, legacy bool) *subClient {
	t.Helper()
	var opts []mcpclient.ClientOption
	if legacy {
		opts = append(opts, mcpclient.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	}
	c, err := mcpclient.NewInProcessClientWithOptions(e.srv, opts...)
	if err != nil {
		t.Fatal(err)
	}
	sc := &subClient{c: c}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		sc.mu.Lock()
		sc.notes = append(sc.notes, n)
		sc.mu.Unlock()
	})
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "subscribe-test", Version: "1"}
	res, err := c.Initialize(ctx, init)
	if err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if res.Capabilities.Resources == nil || !res.Capabilities.Resources.Subscribe {
		t.Fatalf("the server does not declare resources.subscribe: %+v", res.Capabilities.Resources)
	}
	return sc
}

// listen opens a subscriptions/listen stream for uris and returns once the
// server acknowledged it; stop closes it.
func (c *subClient) listen(t *testing.T, uris ...string) (stop func()) {
	t.Helper()
	acks := len(c.of(string(mcp.MethodNotificationSubscriptionsAcknowledged)))
	stop, err := c.c.ListenAsync(context.Background(), mcp.SubscriptionFilter{ResourceSubscriptions: uris}, func(err error) {
		t.Errorf("subscriptions/listen: %v", err)
	})
	if err != nil {
		t.Fatalf("subscriptions/listen: %v", err)
	}
	t.Cleanup(stop)
	until(t, "the subscription's acknowledgement", func() bool {
		return len(c.of(string(mcp.MethodNotificationSubscriptionsAcknowledged))) > acks
	})
	return stop
}

func (c *subClient) subscribe(t *testing.T, uri string) {
	t.Helper()
	req := mcp.SubscribeRequest{}
	req.Params.URI = uri
	if err := c.c.Subscribe(context.Background(), req); err != nil {
		t.Fatalf("resources/subscribe %s: %v", uri, err)
	}
}

func (c *subClient) unsubscribe(t *testing.T, uri string) {
	t.Helper()
	req := mcp.UnsubscribeRequest{}
	req.Params.URI = uri
	if err := c.c.Unsubscribe(context.Background(), req); err != nil {
		t.Fatalf("resources/unsubscribe %s: %v", uri, err)
	}
}

func (c *subClient) of(method string) []mcp.JSONRPCNotification {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []mcp.JSONRPCNotification
	for _, n := range c.notes {
		if n.Method == method {
			out = append(out, n)
		}
	}
	return out
}

// updates are the URIs of the resources/updated notifications received.
func (c *subClient) updates() []string {
	var out []string
	for _, n := range c.of(updated) {
		uri, _ := n.Params.AdditionalFields["uri"].(string)
		out = append(out, uri)
	}
	return out
}

// await waits for the n-th notification about uri (counting from 1).
func (c *subClient) await(t *testing.T, uri string, n int) {
	t.Helper()
	until(t, "notifications/resources/updated of "+uri, func() bool { return count(c.updates(), uri) >= n })
}

func count(uris []string, uri string) int {
	n := 0
	for _, u := range uris {
		if u == uri {
			n++
		}
	}
	return n
}

func hang(t *testing.T, c *client.Client, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := c.Create(context.Background(), api.CreateSession{Name: n, Prompt: "hang on", Mode: api.ModePrint}); err != nil {
			t.Fatalf("create %s: %v", n, err)
		}
	}
}

func stop(t *testing.T, c *client.Client, name string) {
	t.Helper()
	if _, err := c.Stop(context.Background(), name); err != nil {
		t.Fatalf("stop %s: %v", name, err)
	}
}

func budget(t *testing.T, c *client.Client, name string, usd float64) {
	t.Helper()
	if _, err := c.SetBudget(context.Background(), name, api.SetBudget{USD: &usd}); err != nil {
		t.Fatalf("budget %s: %v", name, err)
	}
}

// TestSubscribeListen: a client of protocol 2026-07-28 subscribes to one
// session with subscriptions/listen: its changes (stopped, a usage event)
// and its removal reach the stream, tagged with its subscription ID;
// another session's changes never do; once the stream is closed nothing
// does, and the one event stream the server watched ends.
func TestSubscribeListen(t *testing.T) {
	e := newSubEnv(t)
	hang(t, e.api, "a", "b", "s")
	c := e.connect(t, false)
	if _, _, w := e.tap.counts(); w != 0 {
		t.Errorf("%d event streams before anyone subscribed", w)
	}
	closeStream := c.listen(t, sessionURI("a"), sessionURI("s"))
	if open, _, _ := e.tap.counts(); open != 1 {
		t.Fatalf("%d event streams open once subscribed, want 1 (the acknowledgement waits for it)", open)
	}
	// settle changes s, the sentinel: once its notification is in, so is
	// every one sent before it.
	k := 0
	settle := func() int {
		k++
		budget(t, e.api, "s", float64(k))
		c.await(t, sessionURI("s"), k)
		return count(c.updates(), sessionURI("a"))
	}

	stop(t, e.api, "b")
	stop(t, e.api, "a")
	c.await(t, sessionURI("a"), 1)
	n := settle()
	budget(t, e.api, "b", 5)
	budget(t, e.api, "a", 5) // a usage event
	c.await(t, sessionURI("a"), n+1)
	n = settle()
	if err := e.api.Remove(context.Background(), "a", true, true); err != nil {
		t.Fatal(err)
	}
	c.await(t, sessionURI("a"), n+1)
	settle()
	if n := count(c.updates(), sessionURI("b")); n != 0 {
		t.Errorf("%d notifications of b, which nobody subscribed to", n)
	}
	for _, n := range c.of(updated) {
		if n.Params.Meta[mcp.MetaKeySubscriptionID] == nil {
			t.Errorf("a notification without its stream's subscription ID: %+v", n)
		}
	}
	// Subscribing before a session exists: its creation is a change.
	closeStream()
	before := len(c.updates())
	c.listen(t, sessionURI("late"), sessionURI("s"))
	hang(t, e.api, "late", "a")
	c.await(t, sessionURI("late"), 1)
	settle()
	if got := c.updates()[before:]; slices.Contains(got, sessionURI("a")) {
		t.Errorf("a closed stream's subscription was notified: %v", got)
	}
	if _, most, w := e.tap.counts(); most != 1 || w > 2 {
		t.Errorf("%d event streams open at once (%d in all), want 1", most, w)
	}
}

// TestSubscribeLegacy: resources/subscribe and resources/unsubscribe of
// protocol 2025-11-25; a client that disconnects is forgotten, and with
// no subscriber left the event stream ends.
func TestSubscribeLegacy(t *testing.T) {
	e := newSubEnv(t)
	hang(t, e.api, "a", "b", "c")
	x := e.connect(t, true)
	y := e.connect(t, true)
	x.subscribe(t, sessionURI("a"))
	x.subscribe(t, sessionURI("c"))
	y.subscribe(t, sessionURI("b"))
	if open, _, _ := e.tap.counts(); open != 1 {
		t.Fatalf("%d event streams open for three subscriptions of two clients, want 1", open)
	}
	stop(t, e.api, "b")
	stop(t, e.api, "a")
	x.await(t, sessionURI("a"), 1)
	y.await(t, sessionURI("b"), 1)
	// A change of c: once x has it, it has everything sent before.
	budget(t, e.api, "c", 1)
	x.await(t, sessionURI("c"), 1)
	if got := x.updates(); slices.Contains(got, sessionURI("b")) {
		t.Errorf("x got %v, b's included", got)
	}
	if got := y.updates(); slices.ContainsFunc(got, func(u string) bool { return u != sessionURI("b") }) {
		t.Errorf("y got %v, want b's only", got)
	}

	x.unsubscribe(t, sessionURI("a"))
	na := count(x.updates(), sessionURI("a"))
	budget(t, e.api, "a", 1)
	budget(t, e.api, "c", 2)
	x.await(t, sessionURI("c"), 2)
	if n := count(x.updates(), sessionURI("a")); n != na {
		t.Errorf("a notified after x unsubscribed (%d, then %d)", na, n)
	}

	// x disconnects: y, subscribed to b, still hears of it; x's
	// subscriptions are gone with it.
	x.c.Close()
	nb := count(y.updates(), sessionURI("b"))
	budget(t, e.api, "c", 3)
	budget(t, e.api, "b", 2)
	y.await(t, sessionURI("b"), nb+1)
	if open, _, _ := e.tap.counts(); open != 1 {
		t.Errorf("%d event streams open with y subscribed, want 1", open)
	}
	y.c.Close()
	until(t, "the event stream to end with its last subscriber", func() bool {
		open, _, _ := e.tap.counts()
		return open == 0
	})
	if _, most, _ := e.tap.counts(); most != 1 {
		t.Errorf("%d event streams were open at once, want 1", most)
	}
}

// TestSubscribeReconnect: when the event stream is cut, the server
// watches again (after a wait: the daemon refuses it for a while), and
// notifies what changed while it did not watch, only to its subscribers.
func TestSubscribeReconnect(t *testing.T) {
	e := newSubEnv(t)
	hang(t, e.api, "a", "b", "same")
	c := e.connect(t, false)
	c.listen(t, sessionURI("a"), sessionURI("same"), sessionURI("gone"), sessionURI("new"))
	hang(t, e.api, "gone")
	c.await(t, sessionURI("gone"), 1)

	e.tap.setBlock(true)
	e.tap.cut()
	until(t, "the event stream to break", func() bool {
		open, _, _ := e.tap.counts()
		return open == 0
	})
	_, _, w := e.tap.counts()
	// What happens while nobody watches.
	stop(t, e.api, "a")
	stop(t, e.api, "b")
	if err := e.api.Remove(context.Background(), "gone", true, true); err != nil {
		t.Fatal(err)
	}
	hang(t, e.api, "new")
	time.Sleep(300 * time.Millisecond) // a refused try or two
	e.tap.setBlock(false)
	c.await(t, sessionURI("a"), 1)
	c.await(t, sessionURI("gone"), 2)
	c.await(t, sessionURI("new"), 1)
	if _, _, w2 := e.tap.counts(); w2 != w+1 {
		t.Errorf("%d event streams opened after the cut, want 1", w2-w)
	}
	// Ordered after the reconnect's: a change of a session nobody
	// subscribed to, then one of a subscribed one.
	budget(t, e.api, "b", 3)
	budget(t, e.api, "a", 3)
	c.await(t, sessionURI("a"), 2)
	got := c.updates()
	if n := count(got, sessionURI("b")); n != 0 {
		t.Errorf("b, never subscribed to, was notified: %v", got)
	}
	if n := count(got, sessionURI("same")); n != 0 {
		t.Errorf("same, which did not change, was notified after the reconnect: %v", got)
	}
}

// TestSubscribeBadURI: a URI that names no session resource is
// acknowledged (mcp-go lets no handler refuse one) but starts no watch.
func TestSubscribeBadURI(t *testing.T) {
	e := newSubEnv(t)
	c := e.connect(t, true)
	c.subscribe(t, "clauderon://sessions/Not A Name")
	c.subscribe(t, "file:///etc/passwd")
	if _, _, w := e.tap.counts(); w != 0 {
		t.Errorf("%d event streams for URIs that name no session", w)
	}
}

// nestedClient is an MCP client of session parent's own MCP server, as its
// Claude Code reaches it: http://clauderon.internal/mcp through its proxy
// (the session's socket, and its credentials).
func nestedClient(t *testing.T, eng *fakeEngine, parent string) *subClient {
	t.Helper()
	eng.mu.Lock()
	var proxyURL *url.URL
	var sock string
	for _, s := range eng.specs {
		if s.Name != "clauderon-"+parent {
			continue
		}
		for _, kv := range s.Env {
			if v, ok := strings.CutPrefix(kv, "HTTPS_PROXY="); ok {
				proxyURL, _ = url.Parse(v)
			}
		}
		for _, m := range s.Mounts {
			if m.Target == gateway.SocketDir {
				sock = filepath.Join(m.Source, gateway.SocketName)
			}
		}
	}
	eng.mu.Unlock()
	if proxyURL == nil || sock == "" {
		t.Fatalf("no proxy URL (%v) or socket (%q) in %s's container", proxyURL, sock, parent)
	}
	hc := &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyURL(proxyURL),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
	c, err := mcpclient.NewStreamableHttpClient("http://"+proxy.InternalHost+"/mcp", transport.WithHTTPBasicClient(hc), transport.WithHTTPLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	sc := &subClient{c: c}
	c.OnNotification(func(n mcp.JSONRPCNotification) {
		sc.mu.Lock()
		sc.notes = append(sc.notes, n)
		sc.mu.Unlock()
	})
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	init := mcp.InitializeRequest{}
	init.Params.ClientInfo = mcp.Implementation{Name: "subscribe-test-nested", Version: "1"}
	if _, err := c.Initialize(ctx, init); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	return sc
}

// startLoggedDaemon is startDaemon whose daemon logs (its MCP servers
// included) to logs.
func startLoggedDaemon(t *testing.T, logs io.Writer) (eng *fakeEngine, sock string) {
	t.Helper()
	home := t.TempDir()
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
		Logger:  slog.New(slog.NewTextHandler(logs, nil)),
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
	return eng, d.Socket()
}

// TestSubscribeChildScope: a session's own MCP server (the one its Claude
// Code reaches at clauderon.internal, whose client the daemon serves that
// session's children alone) notifies a subscriber of neither the user's
// sessions nor the session itself, though it subscribed to them: only of
// its children.
func TestSubscribeChildScope(t *testing.T) {
	logs := &syncbuf.Buffer{}
	eng, sock := startLoggedDaemon(t, logs)
	user := &client.Client{Socket: sock}
	hang(t, user, "x")
	if _, err := user.Create(context.Background(), api.CreateSession{Name: "p", Prompt: "lead", Mode: api.ModeInteractive, Spawn: 2}); err != nil {
		t.Fatal(err)
	}
	c := nestedClient(t, eng, "p")
	res, err := c.c.CallTool(context.Background(), mcp.CallToolRequest{Params: mcp.CallToolParams{Name: "create_session", Arguments: map[string]any{"name": "kid", "prompt": "hang on", "wait": false}}})
	if err != nil || res.IsError {
		t.Fatalf("create_session through p's server: %v %+v", err, res)
	}
	c.listen(t, sessionURI("x"), sessionURI("p"), sessionURI("kid"))
	// The acknowledgement came after the watch had its snapshot.
	if strings.Contains(logs.String(), "may not watch the daemon's events") {
		t.Fatalf("the daemon refused p's server the event stream:\n%s", logs.String())
	}
	stop(t, user, "x")
	budget(t, user, "p", 1)
	stop(t, user, "kid")
	c.await(t, sessionURI("kid"), 1) // after x's and p's, had they come
	if got := c.updates(); slices.Contains(got, sessionURI("x")) || slices.Contains(got, sessionURI("p")) {
		t.Errorf("p's server notified sessions outside its view: %v", got)
	}
}
