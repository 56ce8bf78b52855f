package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/session"
)

// stubEngine answers what the daemon asks at start and for an image check;
// containers themselves are tested end to end in e2e/ on a real engine.
type stubEngine struct {
	backend.Backend // nil: any other call panics
}

func (stubEngine) Ping(context.Context) error                        { return nil }
func (stubEngine) Gateway(context.Context) (string, error)           { return "", nil }
func (stubEngine) ImageExists(context.Context, string) (bool, error) { return false, nil }
func (stubEngine) List(context.Context, map[string]string) ([]backend.Container, error) {
	return nil, nil
}
func (stubEngine) Inspect(_ context.Context, id string) (backend.Container, error) {
	return backend.Container{}, fmt.Errorf("%s: %w", id, backend.ErrNotFound)
}
func (stubEngine) Events(ctx context.Context, _ map[string]string) (<-chan backend.Event, <-chan error) {
	errc := make(chan error, 1)
	go func() { <-ctx.Done(); errc <- ctx.Err() }()
	return make(chan backend.Event), errc
}

func testConfig(t *testing.T, home string) Config {
	// No MCP endpoint or web UI unless a test writes its own config.json: daemons of
	// tests running at once would meet on its port.
	if _, err := os.Stat(filepath.Join(home, config.FileName)); os.IsNotExist(err) {
		os.WriteFile(filepath.Join(home, config.FileName), []byte(`{"mcp":{"port":-1},"ui":{"port":-1}}`), 0o600)
	}
	return Config{
		Home:      home,
		ProxyPort: AnyProxyPort,
		Credentials: secret.Env{Getenv: func(k string) string {
			return map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-CANARY-daemon-test"}[k]
		}},
		Backend: stubEngine{},
		Logger:  slog.New(slog.DiscardHandler),
	}
}

// startDaemon runs a daemon on home until the test ends.
func startDaemon(t *testing.T, home string) *Daemon {
	t.Helper()
	return startDaemonWith(t, testConfig(t, home))
}

func TestLocalAPI(t *testing.T) {
	home := t.TempDir()
	d := startDaemon(t, home)
	fi, err := os.Stat(d.Socket())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", fi, err)
	}
	c := &client.Client{Socket: d.Socket()}
	ctx := context.Background()

	st, err := c.Status(ctx)
	if err != nil || st.PID != os.Getpid() || st.Home != home || st.Version != Version {
		t.Errorf("status: %+v %v", st, err)
	}
	if l, err := c.List(ctx); err != nil || len(l.Sessions) != 0 {
		t.Errorf("list: %+v %v", l, err)
	}
	_, err = c.Get(ctx, "nope")
	if !errors.Is(err, client.ErrNotFound) || !strings.Contains(err.Error(), `no session named "nope"`) {
		t.Errorf("get unknown: %v", err)
	}
	_, err = c.Create(ctx, session.Options{Name: "Bad Name"})
	if !errors.Is(err, client.ErrBadRequest) || !strings.Contains(err.Error(), "is not valid") {
		t.Errorf("create with a bad name: %v", err)
	}
	_, err = c.Create(ctx, session.Options{Name: "ok", Image: "missing:1", Workdir: t.TempDir()})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(err.Error(), "clauderon image build") {
		t.Errorf("create with a missing image: %v", err)
	}
	// With progress, the same error arrives after a progress line, with its status.
	var lines []string
	_, err = c.CreateWithProgress(ctx, session.Options{Name: "ok", Image: "missing:1", Workdir: t.TempDir()}, func(l string) { lines = append(lines, l) })
	if !errors.As(err, &ae) || ae.Status != 422 || !strings.Contains(err.Error(), "clauderon image build") {
		t.Errorf("create with progress and a missing image: %v", err)
	}
	if len(lines) == 0 || !strings.Contains(lines[0], "checking the image missing:1") {
		t.Errorf("create's progress lines: %q", lines)
	}
	_, err = c.CreateWithProgress(ctx, session.Options{Name: "Bad Name"}, nil)
	if !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("create with progress and a bad name: %v", err)
	}
	if _, err := c.Diff(ctx, "nope", true, 1<<40); !errors.Is(err, client.ErrBadRequest) || !strings.Contains(err.Error(), "max_bytes") {
		t.Errorf("diff asking for a TiB of patches: %v", err)
	}
	if _, err := c.Diff(ctx, "nope", true, 0); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("diff of an unknown session: %v", err)
	}
	if _, err := c.Land(ctx, "nope", api.Land{Branch: "-x"}); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("land of an unknown session: %v", err)
	}
	if err := c.Remove(ctx, "nope", true, false); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("rm unknown: %v", err)
	}

	raw := func(req string) string {
		conn, err := net.Dial("unix", d.Socket())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, req)
		b, _ := io.ReadAll(conn)
		return string(b)
	}
	tests := []struct{ name, req, status, code string }{
		{"origin", "GET /api/v0/status HTTP/1.1\r\nHost: x\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n", "403", "browser"},
		{"referer", "GET /api/v0/status HTTP/1.1\r\nHost: x\r\nReferer: http://evil.example/\r\nConnection: close\r\n\r\n", "403", "browser"},
		{"unknown route", "GET /api/v9/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404", "no_route"},
		{"wrong method", "PUT /api/v0/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "405", "method"},
		{"bad body", "POST /api/v0/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{nope", "400", "invalid"},
		{"unknown field", "POST /api/v0/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"privileged\":1}", "400", "invalid"},
		{"attach without upgrade", "POST /api/v0/sessions/x/attach HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "400", "invalid"},
		{"no such session", "GET /api/v0/sessions/nobody HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404", "not_found"},
	}
	// One request, one JSON value: a second one is refused, not ignored.
	if got := raw("POST /api/v0/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 26\r\nConnection: close\r\n\r\n{\"name\":\"two\"}{\"name\":\"x\"}"); !strings.HasPrefix(got, "HTTP/1.1 400") || !strings.Contains(got, "data after the JSON object") {
		t.Errorf("two JSON values: %q", got)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := raw(tc.req)
			if !strings.HasPrefix(got, "HTTP/1.1 "+tc.status) || !strings.Contains(got, `"error":"`) || !strings.Contains(got, `"code":"`+tc.code+`"`) {
				t.Errorf("got %q, want status %s with a JSON error of code %s", got, tc.status, tc.code)
			}
		})
	}
}

func TestSecondDaemonRefused(t *testing.T) {
	home := t.TempDir()
	startDaemon(t, home)
	_, err := New(context.Background(), testConfig(t, home))
	if !errors.Is(err, ErrAlreadyRunning) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("second daemon: %v", err)
	}
}

func TestStaleSocketRemoved(t *testing.T) {
	home := t.TempDir()
	l, err := net.Listen("unix", filepath.Join(home, client.SocketFile))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // as a SIGKILLed daemon leaves it
	d := startDaemon(t, home)
	if _, err := (&client.Client{Socket: d.Socket()}).Status(context.Background()); err != nil {
		t.Errorf("status after replacing a stale socket: %v", err)
	}
}

func TestClientWithoutDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), client.SocketFile)
	_, err := (&client.Client{Socket: sock}).List(context.Background())
	var du *client.DaemonUnreachableError
	want := "cannot reach the clauderon daemon at " + sock + "; start it with `clauderon daemon`"
	if !errors.As(err, &du) || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	_, err = (&client.Client{Socket: sock}).Attach(context.Background(), "x")
	if !errors.As(err, &du) {
		t.Errorf("attach: got %v", err)
	}
}

// TestClientZeroValue: the zero Client finds the socket through CLAUDERON_HOME.
func TestClientZeroValue(t *testing.T) {
	home := t.TempDir()
	t.Setenv("CLAUDERON_HOME", home)
	startDaemon(t, home)
	var c client.Client
	if _, err := c.Status(context.Background()); err != nil {
		t.Error(err)
	}
}

// TestErrorCodeKinds: errors of one status but different meaning have
// different codes.
func TestErrorCodeKinds(t *testing.T) {
	for err, want := range map[error]string{
		session.Errorf(session.ErrExists, "x"):   api.CodeExists,
		session.Errorf(session.ErrState, "x"):    api.CodeState,
		session.Errorf(session.ErrUnlanded, "x"): api.CodeUnlanded,
		session.Errorf(session.ErrConflict, "x"): api.CodeConflict,
		errors.New("boom"):                       api.CodeInternal,
	} {
		if got := code(err); got != want {
			t.Errorf("code(%v) = %q, want %q", err, got, want)
		}
		if status(err) == 409 && want == api.CodeInternal {
			t.Errorf("%v", err)
		}
	}
}

// TestAgentRoutes: the agents' handler serves the session routes and
// refuses the credential, image builds and attach as unknown routes.
func TestAgentRoutes(t *testing.T) {
	d := &Daemon{}
	h := d.agentHandler()
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{"PUT", "/api/v0/tokens/anthropic", 404},
		{"GET", "/api/v0/tokens/anthropic", 404},
		{"POST", "/api/v0/images/build", 404},
		{"POST", "/api/v0/sessions/x/attach", 404},
		{"POST", "/api/v0/sessions/x/apply", 404},
		{"POST", "/api/v0/sessions/x/egress", 405},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader("{}")))
		if rec.Code != tt.want {
			t.Errorf("%s %s through the agents' handler: %d, want %d", tt.method, tt.path, rec.Code, tt.want)
		}
	}
	for _, rt := range d.routes() {
		key := rt.method + " " + rt.pattern
		if agentRoutes[key] && (strings.HasPrefix(rt.pattern, "/tokens") || strings.HasPrefix(rt.pattern, "/images")) {
			t.Errorf("%s is open to agents", key)
		}
	}
}
