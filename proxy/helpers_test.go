package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/secret"
)

// Canaries: never a real credential, easy to grep for.
const (
	canaryOAuth  = "sk-ant-oat01-CANARY-oauth-5f2b9c1e7d3a"
	canaryOAuth2 = "sk-ant-oat01-CANARY-rotated-8e4d2a6b1c90"
	canaryAPIKey = "sk-ant-api03-CANARY-apikey-3c7e1f9a2b4d"
	clientToken  = "sk-ant-oat01-clauderon-proxy-placeholder"
)

// fakeSource is a secret.Source whose token a test can change.
type fakeSource struct {
	mu    sync.Mutex
	tok   secret.Token
	err   error
	names []string
}

func newSource(t testing.TB, raw string) *fakeSource {
	s := &fakeSource{}
	s.set(t, raw)
	return s
}

func (s *fakeSource) set(t testing.TB, raw string) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if raw == "" {
		s.tok, s.err = secret.Token{}, secret.ErrNotFound
		return
	}
	tok, err := secret.ParseToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	s.tok, s.err = tok, nil
}

func (s *fakeSource) Get(_ context.Context, name string) (secret.Token, secret.Origin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names = append(s.names, name)
	if s.err != nil {
		return secret.Token{}, "", s.err
	}
	return s.tok, secret.OriginEnv, nil
}

// harness is a running proxy in front of a fake Anthropic upstream.
type harness struct {
	t        testing.TB
	home     string
	fake     *fakeanthropic.Server
	ca       *CA
	sessions *Sessions
	src      *fakeSource
	audit    *Audit
	logs     *syncbuf.Buffer
	proxy    *Proxy
	addr     string
	name     string
	secret   string
	stopOnce sync.Once
	stopFn   func()
}

type harnessOpt func(*Config)

// allowLoopback lets blind tunnels and plain-http requests reach the test's
// own servers on 127.0.0.1, which the default dial policy refuses.
func allowLoopback(c *Config) { c.AllowDial = AllowAllDials }

func newHarness(t testing.TB, token string, opts ...harnessOpt) *harness {
	t.Helper()
	home := t.TempDir()
	t.Setenv("CLAUDERON_HOME", home)
	fake, err := fakeanthropic.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	ca, err := LoadOrCreateCA(home)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := DefaultRules().WithUpstreams(map[string]config.Upstream{
		AnthropicHost: {Address: fake.Addr, CAFile: fake.CAFile},
	})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := OpenAudit(filepath.Join(home, AuditFile), 0)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{
		t: t, home: home, fake: fake, ca: ca, sessions: NewSessions(),
		src: newSource(t, token), audit: audit, logs: &syncbuf.Buffer{},
		name: "sess-a",
	}
	h.secret, err = NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.sessions.Set(h.name, h.secret); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		CA: ca, Rules: rules, Auth: h.sessions, Credentials: h.src, Audit: audit,
		Logger: slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	h.proxy, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.proxy.Serve(ctx, ln) }()
	h.stopFn = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
		audit.Close()
	}
	t.Cleanup(h.stop)
	return h
}

// stop shuts the proxy down and waits until every audit line is written.
func (h *harness) stop() { h.stopOnce.Do(h.stopFn) }

// proxyURL is what a client puts in HTTPS_PROXY.
func (h *harness) proxyURL(name, secret string) *url.URL {
	u := &url.URL{Scheme: "http", Host: h.addr}
	if name != "" {
		u.User = url.UserPassword(name, secret)
	}
	return u
}

// client trusts the proxy CA plus any extra roots and goes through the
// proxy as name:secret.
func (h *harness) client(name, secret string, extra ...*x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(h.ca.Certificate())
	for _, c := range extra {
		pool.AddCert(c)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(h.proxyURL(name, secret))}
	tr.TLSClientConfig = tlsConfig(pool)
	h.t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func (h *harness) defaultClient() *http.Client { return h.client(h.name, h.secret) }

// echo asks the fake to repeat the headers it received.
type echoReply struct {
	Headers http.Header `json:"headers"`
	Path    string      `json:"path"`
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func newRequest(t *testing.T, method, u string, body io.Reader, hdr map[string][]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	return req
}

// auditLines reads every audit line, checking each is a complete JSON object.
func auditLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %d is not JSON: %v: %q", i+1, err, line)
		}
		out = append(out, m)
	}
	return out
}

func errorMessage(t *testing.T, b []byte) (kind, msg string) {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("error body %q is not JSON: %v", b, err)
	}
	return eb.Error.Type, eb.Error.Message
}

// requireTool fails instead of skipping when the test setup promised the
// real tools.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CLAUDERON_REQUIRE_E2E") == "1" {
			t.Fatalf("%s is required (CLAUDERON_REQUIRE_E2E=1): %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

func tlsConfig(pool *x509.CertPool) *tls.Config { return &tls.Config{RootCAs: pool} }

func freePortClosed(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
