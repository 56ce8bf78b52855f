package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testimage"
)

// notifyProc is `clauderon mcp` with a go-sdk client on its stdio that
// records the resources/updated notifications it gets.
type notifyProc struct {
	cs     *mcp.ClientSession
	stderr *syncbuf.Buffer

	mu      sync.Mutex
	updated []string
}

func startNotifyMCP(t *testing.T, home, protocol string) *notifyProc {
	t.Helper()
	p := &notifyProc{stderr: &syncbuf.Buffer{}}
	cmd := exec.Command(binary, "mcp")
	cmd.Env = baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary)
	cmd.Stderr = p.stderr
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-go-sdk-notify", Version: "1"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, r *mcp.ResourceUpdatedNotificationRequest) {
			p.mu.Lock()
			p.updated = append(p.updated, r.Params.URI)
			p.mu.Unlock()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	if err != nil {
		t.Fatalf("connecting to clauderon mcp (%s): %v\nstderr: %s", protocol, err, p.stderr.String())
	}
	p.cs = cs
	t.Cleanup(func() {
		cs.Close()
		assertNoCanary(t, "clauderon mcp's stderr", p.stderr.String(), Canary)
	})
	if r := cs.InitializeResult(); r == nil || r.Capabilities == nil || r.Capabilities.Resources == nil || !r.Capabilities.Resources.Subscribe {
		t.Fatalf("clauderon mcp (%s) does not declare resources.subscribe: %+v", protocol, r)
	}
	return p
}

func (p *notifyProc) count(uri string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, u := range p.updated {
		if u == uri {
			n++
		}
	}
	return n
}

func (p *notifyProc) uris() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.updated)
}

// await waits until p has more than n notifications of uri.
func (p *notifyProc) await(t *testing.T, what, uri string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for p.count(uri) <= n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no notifications/resources/updated of %s (got %v)", what, uri, p.uris())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMCPNotify: two `clauderon mcp` over stdio, one speaking 2026-07-28
// (subscriptions/listen), the other 2025-11-25 (resources/subscribe),
// subscribe to a session that does not exist yet. A real print session of
// that name, created through the LocalAPI, reaches both as
// notifications/resources/updated of its URI, and so does its removal; a
// session neither subscribed to never does; after resources/unsubscribe
// the older client hears no more.
func TestMCPNotify(t *testing.T) {
	requireDocker(t)
	image := testimage.Ensure(t)
	home, _ := mcpHome(t)
	cleanupContainers(t, home)
	stopStartedDaemon(t, home)

	modern := startNotifyMCP(t, home, "2026-07-28")
	legacy := startNotifyMCP(t, home, "2025-11-25")
	user := &client.Client{Socket: filepath.Join(home, client.SocketFile)}
	ctx := context.Background()
	a, b := sname("mcpn-a"), sname("mcpn-b")
	uriA, uriB := "clauderon://sessions/"+a, "clauderon://sessions/"+b

	run := func(name string) {
		t.Helper()
		if _, err := user.Create(ctx, api.CreateSession{Name: name, Prompt: "say hello", Mode: api.ModePrint, Image: image}); err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		s, err := user.Wait(ctx, name)
		if err != nil || s.Status != api.StatusExited {
			t.Fatalf("wait %s: %+v %v", name, s, err)
		}
	}
	// b runs to its end before anyone subscribes, and a changes after.
	run(b)
	for _, p := range []*notifyProc{modern, legacy} {
		if err := p.cs.Subscribe(ctx, &mcp.SubscribeParams{URI: uriA}); err != nil {
			t.Fatalf("subscribe: %v", err)
		}
	}
	// go-sdk sends subscriptions/listen without waiting for it to be
	// acknowledged: a's creation may come before the modern server
	// watches, its start and end after.
	run(a)
	modern.await(t, "a's run", uriA, 0)
	legacy.await(t, "a's run", uriA, 0)
	for _, p := range []*notifyProc{modern, legacy} {
		res, err := p.cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: uriA})
		if err != nil || len(res.Contents) != 1 || !strings.Contains(res.Contents[0].Text, `"status": "exited"`) {
			t.Errorf("resources/read after the notification: %+v %v", res, err)
		}
	}

	nm, nl := modern.count(uriA), legacy.count(uriA)
	if err := legacy.cs.Unsubscribe(ctx, &mcp.UnsubscribeParams{URI: uriA}); err != nil {
		t.Fatalf("unsubscribe: %v", err)
	}
	if err := user.Remove(ctx, a, true, true); err != nil {
		t.Fatal(err)
	}
	modern.await(t, "a's removal", uriA, nm)
	// The two servers watch the same daemon's stream: once the modern one
	// had the removal, the other has had time to send it, had it kept the
	// subscription.
	time.Sleep(500 * time.Millisecond)
	if n := legacy.count(uriA); n != nl {
		t.Errorf("the legacy client got %d notifications of a after it unsubscribed", n-nl)
	}
	for _, p := range []*notifyProc{modern, legacy} {
		if slices.Contains(p.uris(), uriB) {
			t.Errorf("b, never subscribed to, was notified: %v", p.uris())
		}
	}
	if b, err := os.ReadFile(filepath.Join(home, "mcp.log")); err == nil {
		assertNoCanary(t, "mcp.log", string(b), Canary)
		if strings.Contains(string(b), "may not watch") {
			t.Errorf("mcp.log says the event stream was refused:\n%s", b)
		}
	}
}
