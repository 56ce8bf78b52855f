package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testimage"
	"github.com/clauderon/clauderon/mcpserver"
)

// mcpHome is fakeHome whose daemon (which `clauderon mcp` starts itself)
// takes a free proxy port and serves no MCP HTTP endpoint, so that it
// meets no other test's daemon.
func mcpHome(t *testing.T) (string, *fakeanthropic.Server) {
	t.Helper()
	home, fake := fakeHome(t)
	editConfig(t, home, func(c *config.Config) {
		c.Proxy.Port = freeTCPPort(t)
		c.MCP.Port = -1
	})
	return home, fake
}

// mcpProc is `clauderon mcp` with a go-sdk client on its stdio.
type mcpProc struct {
	cs     *mcp.ClientSession
	stderr *syncbuf.Buffer
	mu     sync.Mutex
	prog   []string
}

// startMCP may run on any goroutine: it reports failure by its error.
func startMCP(t *testing.T, home, protocol string) (*mcpProc, error) {
	p := &mcpProc{stderr: &syncbuf.Buffer{}}
	cmd := exec.Command(binary, "mcp")
	cmd.Env = baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary)
	cmd.Stderr = p.stderr
	c := mcp.NewClient(&mcp.Implementation{Name: "e2e-go-sdk", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			p.mu.Lock()
			p.prog = append(p.prog, r.Params.Message)
			p.mu.Unlock()
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := c.Connect(ctx, &mcp.CommandTransport{Command: cmd}, &mcp.ClientSessionOptions{ProtocolVersion: protocol})
	if err != nil {
		return nil, fmt.Errorf("connecting to clauderon mcp: %v\nstderr: %s", err, p.stderr.String())
	}
	p.cs = cs
	t.Cleanup(func() {
		if err := cs.Close(); err != nil {
			t.Logf("closing clauderon mcp: %v", err)
		}
		if s := p.stderr.String(); s != "" {
			t.Logf("clauderon mcp stderr: %s", s)
		}
	})
	return p, nil
}

// call calls a tool; a protocol error fails the test, and no answer may
// hold the canary.
func (p *mcpProc) call(t *testing.T, name string, args map[string]any, progressToken any) *mcp.CallToolResult {
	t.Helper()
	params := &mcp.CallToolParams{Name: name, Arguments: args}
	if progressToken != nil {
		params.SetProgressToken(progressToken)
	}
	res, err := p.cs.CallTool(context.Background(), params)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	b, _ := json.Marshal(res)
	assertNoCanary(t, name+"'s answer", string(b), Canary)
	return res
}

// ok decodes a successful call's structured content into out.
func (p *mcpProc) ok(t *testing.T, name string, args map[string]any, out any, progressToken any) {
	t.Helper()
	res := p.call(t, name, args, progressToken)
	if res.IsError {
		t.Fatalf("%s: tool error %s", name, resultText(res))
	}
	b, _ := json.Marshal(res.StructuredContent)
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: structured content %s: %v", name, b, err)
	}
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// stopStartedDaemon SIGTERMs, at cleanup, the daemon that `clauderon mcp`
// started for home, and waits for it to exit.
func stopStartedDaemon(t *testing.T, home string) {
	t.Cleanup(func() {
		c := &client.Client{Socket: filepath.Join(home, client.SocketFile)}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return
		}
		if err := syscall.Kill(st.PID, syscall.SIGTERM); err != nil {
			t.Logf("stopping the daemon %d: %v", st.PID, err)
			return
		}
		waitFor(t, "the started daemon to exit", func() bool { return errors.Is(syscall.Kill(st.PID, 0), syscall.ESRCH) })
	})
}

var daemonPIDRE = regexp.MustCompile(`daemon_pid=(\d+)`)

// TestMCPStdio drives the built binary's `clauderon mcp` with the official
// go-sdk client: two of them started at once, with no daemon running,
// start one daemon and share it; then initialize, tools/list, and a print
// session created with wait against a real container and the fake
// upstream, whose reply comes back as structured content with progress on
// the way; get_audit shows the injection; delete_session removes it. The
// canary is in no answer and no log.
func TestMCPStdio(t *testing.T) {
	requireDocker(t)
	image := testimage.Ensure(t)
	home, fake := mcpHome(t)
	cleanupContainers(t, home)
	stopStartedDaemon(t, home)

	// Two at once, no daemon yet: one speaks 2026-07-28, the other the
	// initialize handshake of 2025-11-25 (as Claude Code 2.1 does).
	protocols := []string{"2026-07-28", "2025-11-25"}
	procs := make([]*mcpProc, len(protocols))
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			p, err := startMCP(t, home, protocols[i])
			if err != nil {
				t.Error(err)
			}
			procs[i] = p
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	st, err := (&client.Client{Socket: filepath.Join(home, client.SocketFile)}).Status(context.Background())
	if err != nil {
		t.Fatalf("no daemon answers after clauderon mcp started: %v", err)
	}
	logText := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(home, name))
		return string(b)
	}
	var pids []string
	for _, m := range daemonPIDRE.FindAllStringSubmatch(logText("mcp.log"), -1) {
		pids = append(pids, m[1])
	}
	if len(pids) != 2 || pids[0] != pids[1] || pids[0] != strconv.Itoa(st.PID) {
		t.Errorf("the two MCP servers use daemons %v; /status says %d: want one daemon for both", pids, st.PID)
	}
	if !strings.Contains(logText("daemon.log"), "clauderon daemon running") {
		t.Errorf("daemon.log lacks the daemon's start:\n%s", logText("daemon.log"))
	}

	for i, p := range procs {
		if v := p.cs.InitializeResult(); v == nil || v.ServerInfo.Name != "clauderon" || v.ProtocolVersion != protocols[i] {
			t.Errorf("initialize result %+v, want clauderon on %s", v, protocols[i])
		}
	}
	m := procs[0]
	lt, err := m.cs.ListTools(context.Background(), &mcp.ListToolsParams{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range lt.Tools {
		names = append(names, tl.Name)
		if tl.OutputSchema == nil || tl.Annotations == nil || tl.Annotations.DestructiveHint == nil || tl.Annotations.OpenWorldHint == nil {
			t.Errorf("%s lacks its output schema or annotations", tl.Name)
		}
	}
	slices.Sort(names)
	want := []string{"continue_session", "create_session", "delete_session", "get_audit", "get_session", "get_session_diff", "get_session_output", "land_session", "list_sessions", "stop_session"}
	if !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}

	name := sname("mcp1")
	var out mcpserver.CreateOutput
	m.ok(t, "create_session", map[string]any{"prompt": "say hello", "name": name, "image": image, "workdir": workdir(t)}, &out, "e2e-progress")
	s := out.Session
	if !out.Finished || s.Status != "exited" || s.ExitCode == nil || *s.ExitCode != 0 {
		t.Errorf("create_session: %+v", out)
	}
	if s.Result == nil || s.Result.Text != fakeanthropic.DefaultReply || s.Result.NumTurns < 1 {
		t.Errorf("result %+v, want the fake's reply %q", s.Result, fakeanthropic.DefaultReply)
	}
	m.mu.Lock()
	prog := slices.Clone(m.prog)
	m.mu.Unlock()
	if !slices.ContainsFunc(prog, func(p string) bool { return strings.Contains(p, "checking the image") }) ||
		!slices.ContainsFunc(prog, func(p string) bool { return strings.Contains(p, "waiting for it to finish") }) {
		t.Errorf("progress notifications %q", prog)
	}
	if len(fake.MessageRequests()) == 0 {
		t.Error("the fake upstream received no request")
	}

	var a mcpserver.AuditOutput
	m.ok(t, "get_audit", map[string]any{"name": name}, &a, nil)
	if !slices.ContainsFunc(a.Entries, func(e mcpserver.AuditEntry) bool {
		return e.AuthInjected && strings.HasPrefix(e.Host, "api.anthropic.com")
	}) {
		t.Errorf("get_audit shows no auth_injected request to api.anthropic.com: %+v", a.Entries)
	}

	// A further turn: the same conversation goes on in the same container.
	fake.SetRespond(func(body []byte) *fakeanthropic.Turn {
		if !bytes.Contains(body, []byte("what did I ask")) {
			return nil
		}
		if bytes.Contains(body, []byte("say hello")) && bytes.Contains(body, []byte(fakeanthropic.DefaultReply)) {
			return &fakeanthropic.Turn{Text: "You asked me to say hello."}
		}
		return &fakeanthropic.Turn{Text: "I do not remember."}
	})
	m.ok(t, "continue_session", map[string]any{"name": name, "prompt": "what did I ask"}, &out, "e2e-progress-2")
	if c := out.Session; !out.Finished || c.Turns != 2 || c.ExitCode == nil || *c.ExitCode != 0 || c.Result == nil || c.Result.Text != "You asked me to say hello." {
		t.Errorf("continue_session: %+v (result %+v)", out, c.Result)
	}
	if res := m.call(t, "continue_session", map[string]any{"name": sname("mcp-nope"), "prompt": "x"}, nil); !res.IsError || !strings.Contains(resultText(res), "no session") {
		t.Errorf("continue_session of an unknown session: %s", resultText(res))
	}

	// The second server sees the same session.
	var g mcpserver.GetOutput
	procs[1].ok(t, "get_session", map[string]any{"name": name}, &g, nil)
	if g.Session.Result == nil || g.Session.Result.Text != "You asked me to say hello." || g.Session.Turns != 2 {
		t.Errorf("get_session through the second server: %+v", g.Session)
	}
	// A bad call is a tool error, and the server stays up.
	if res := m.call(t, "get_session", map[string]any{"name": "Not A Name"}, nil); !res.IsError {
		t.Errorf("a bad name succeeded: %s", resultText(res))
	}

	var d mcpserver.DeleteOutput
	m.ok(t, "delete_session", map[string]any{"name": name}, &d, nil)
	var l mcpserver.ListOutput
	m.ok(t, "list_sessions", map[string]any{}, &l, nil)
	if slices.ContainsFunc(l.Sessions, func(s mcpserver.SessionView) bool { return s.Name == name }) {
		t.Error("the session is still listed after delete_session")
	}

	for _, f := range []string{"mcp.log", "daemon.log"} {
		assertNoCanary(t, f, logText(f), Canary)
	}
	assertNoCanaryUnder(t, home, Canary)
	for _, p := range procs {
		assertNoCanary(t, "clauderon mcp's stderr", p.stderr.String(), Canary)
	}
}
