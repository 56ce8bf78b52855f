package daemon

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/session"
)

// gwEngine is a stubEngine whose bridge gateway is 127.0.0.2 (loopback, so
// the test can bind it) once up is set, and whose containers are cs.
type gwEngine struct {
	stubEngine
	mu   sync.Mutex
	up   bool
	down error // what Gateway answers while !up
	cs   []backend.Container
}

func (g *gwEngine) Gateway(context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.up {
		return "", g.down
	}
	return "127.0.0.2", nil
}

func (g *gwEngine) List(context.Context, map[string]string) ([]backend.Container, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.cs), nil
}

func (g *gwEngine) Stop(context.Context, string, time.Duration) error { return nil }

func (g *gwEngine) Remove(_ context.Context, id string, _ bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cs = slices.DeleteFunc(g.cs, func(c backend.Container) bool { return c.ID == id || c.Name == id })
	return nil
}

func (g *gwEngine) setUp() {
	g.mu.Lock()
	g.up = true
	g.mu.Unlock()
}

// startDaemonWith runs a daemon with cfg until the test ends.
func startDaemonWith(t *testing.T, cfg Config) *Daemon {
	t.Helper()
	ready := make(chan struct{})
	cfg.Ready = func() { close(ready) }
	d, err := New(context.Background(), cfg)
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
			t.Errorf("Run: %v", err)
		}
	})
	return d
}

// proxyAnswers sends a CONNECT without credentials to addr and returns the
// status line: the proxy answers 407.
func proxyAnswers(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("answer from %s: %v", addr, err)
	}
	resp.Body.Close()
	return resp.Status
}

// until polls cond; the test's deadline bounds it.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if dl, ok := t.Deadline(); ok && time.Until(dl) < 5*time.Second {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestProxyPortZero: port 0 picks a free port, the same on loopback and the
// gateway, reported by /status.
func TestProxyPortZero(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.ProxyPort = AnyProxyPort
	cfg.Backend = &gwEngine{up: true}
	d := startDaemonWith(t, cfg)
	st, err := (&client.Client{Socket: d.Socket()}).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := strconv.Itoa(st.ProxyPort)
	want := []string{"127.0.0.1:" + p, "127.0.0.2:" + p}
	if st.ProxyPort == 0 || st.ProxyPort == DefaultProxyPort || strings.Join(st.ProxyAddrs, " ") != strings.Join(want, " ") {
		t.Fatalf("status: port %d addrs %v, want a picked port on %v", st.ProxyPort, st.ProxyAddrs, want)
	}
	for _, a := range want {
		if got := proxyAnswers(t, a); !strings.HasPrefix(got, "407") {
			t.Errorf("%s answered %q, want 407", a, got)
		}
	}
}

// bridgeHome is a home whose sessions reach the proxy over the bridge
// network (container.network "bridge"), as on Docker Desktop.
func bridgeHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, config.FileName), []byte(`{"container":{"network":"bridge"},"mcp":{"port":-1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

// TestGatewayBoundLater: with sessions on the bridge network, a daemon
// started while the engine is down binds
// the gateway by itself once the engine answers; until then create says why
// it cannot make a container.
func TestGatewayBoundLater(t *testing.T) {
	for _, tc := range []struct {
		name   string
		down   error
		status int
		want   string
	}{
		{"engine down", fmt.Errorf("%w: not yet", backend.ErrEngineUnreachable), 502, "cannot reach the container engine"},
		{"no bridge", errors.New(`network "bridge" not found`), 503, "cannot learn the Docker bridge gateway"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := &gwEngine{down: tc.down}
			cfg := testConfig(t, bridgeHome(t))
			cfg.ProxyPort = AnyProxyPort
			cfg.Backend = eng
			d := startDaemonWith(t, cfg)
			c := &client.Client{Socket: d.Socket()}
			ctx := context.Background()
			_, err := c.Create(ctx, session.Options{Name: "a", Image: "missing:1"})
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("create before the gateway is known: %v; want %d %q", err, tc.status, tc.want)
			}
			eng.setUp()
			gw := "127.0.0.2:" + strconv.Itoa(d.ProxyPort())
			until(t, "the gateway listener", func() bool {
				st, err := c.Status(ctx)
				return err == nil && strings.Contains(strings.Join(st.ProxyAddrs, " "), gw)
			})
			if got := proxyAnswers(t, gw); !strings.HasPrefix(got, "407") {
				t.Errorf("%s answered %q", gw, got)
			}
			_, err = c.Create(ctx, session.Options{Name: "a", Image: "missing:1"})
			if !errors.As(err, &ae) || ae.Status != 422 {
				t.Errorf("create once the gateway is bound: %v, want the image check's 422", err)
			}
		})
	}
}

// TestOldProxyPortServed: a session whose container names another port
// than the daemon's (it was restarted with another --proxy-port) is served
// there too; while that port is taken, list says so, and the daemon binds
// it as soon as it is free.
func TestOldProxyPortServed(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	old := held.Addr().(*net.TCPAddr).Port
	home := t.TempDir()
	eng := &gwEngine{up: true, cs: []backend.Container{{ID: "c1", Name: "clauderon-old", Status: "running", Labels: map[string]string{
		session.LabelManaged: "1", session.LabelHome: session.HomeID(home), session.LabelSession: "old",
		session.LabelNonce: "n", session.LabelMode: string(session.ModeInteractive), session.LabelProxyPort: strconv.Itoa(old),
	}}}}
	cfg := testConfig(t, home)
	cfg.ProxyPort = AnyProxyPort
	cfg.Backend = eng
	d := startDaemonWith(t, cfg)
	c := &client.Client{Socket: d.Socket()}
	ctx := context.Background()
	s, err := c.Get(ctx, "old")
	if err != nil || s.ProxyPort != old || !strings.Contains(s.Warning, fmt.Sprintf("does not listen on port %d", old)) {
		t.Fatalf("old while its port is taken: %+v %v", s, err)
	}
	held.Close()
	until(t, "the old port to be served", func() bool {
		s, err := c.Get(ctx, "old")
		return err == nil && s.Warning == ""
	})
	for _, h := range []string{"127.0.0.1", "127.0.0.2"} {
		a := net.JoinHostPort(h, strconv.Itoa(old))
		if got := proxyAnswers(t, a); !strings.HasPrefix(got, "407") {
			t.Errorf("%s answered %q", a, got)
		}
	}

	// Once no session uses the old port, the daemon lets it go; its own
	// port stays.
	if err := c.Remove(ctx, "old", true, false); err != nil {
		t.Fatal(err)
	}
	until(t, "the old port to be released", func() bool {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(old)))
		if err != nil {
			return false
		}
		l.Close()
		return true
	})
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range st.ProxyAddrs {
		if strings.HasSuffix(a, ":"+strconv.Itoa(old)) {
			t.Errorf("status still lists %s", a)
		}
	}
	if got := proxyAnswers(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(st.ProxyPort))); !strings.HasPrefix(got, "407") {
		t.Errorf("the daemon's own port answered %q", got)
	}
}
