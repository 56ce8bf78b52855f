package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLimitHoldsConnectionsInTheBacklog: a pool full of connections makes
// its listener stop accepting (the next connection waits in the kernel's
// backlog), a listener with a pool of its own still accepts, and a closed
// connection makes room.
func TestLimitHoldsConnectionsInTheBacklog(t *testing.T) {
	global := NewConnPool(100)
	own := NewConnPool(2)
	a := listen(t, own, global)
	b := listen(t, NewConnPool(2), global)
	accepted := make(chan net.Conn, 10)
	for _, l := range []net.Listener{a, b} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted <- c
			}
		}()
	}
	var held []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", a.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	first := []net.Conn{<-accepted, <-accepted}
	if own.InUse() != 2 {
		t.Fatalf("in use %d, want 2", own.InUse())
	}
	// b is not held up by a's flood.
	cb, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	<-accepted
	select {
	case <-accepted:
		t.Fatal("a third connection was accepted past a pool of 2")
	default:
	}
	first[0].Close()
	<-accepted // the waiting one, now that there is room
	// Three connections, and b's next Accept, which may already hold its
	// place while it waits.
	if n := global.InUse(); n < 3 || n > 4 {
		t.Errorf("global pool holds %d, want 3 or 4", n)
	}
	// Closing twice gives back once.
	first[0].Close()
	if own.InUse() != 2 {
		t.Errorf("own pool holds %d after a double close, want 2", own.InUse())
	}
	_ = held
}

func listen(t *testing.T, pools ...*ConnPool) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := Limit(l, pools...)
	t.Cleanup(func() { ll.Close() })
	return ll
}

// TestLimitCloseWhileFull: closing a listener whose pool is full ends a
// waiting Accept at once, so a server on it can stop.
func TestLimitCloseWhileFull(t *testing.T) {
	p := NewConnPool(1)
	l := listen(t, p)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := l.Accept(); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := l.Accept(); errc <- err }()
	l.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v", err)
	}
}

func TestGlobalConnCap(t *testing.T) {
	for _, tt := range []struct {
		limit uint64
		want  int
	}{{20000, 9744}, {1 << 20, (1<<20 - 512) / 2}, {256, 64}, {0, (1<<22 - 512) / 2}} {
		if got := GlobalConnCap(tt.limit); got != tt.want {
			t.Errorf("GlobalConnCap(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
	if FileLimit() == 0 {
		t.Error("FileLimit cannot read the limit")
	}
}

// serveSession serves h's proxy for session name on a fresh unix socket.
func serveSession(t *testing.T, h *harness, name string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "proxy.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.proxy.ServeSession(ctx, ln, name) }()
	t.Cleanup(func() { cancel(); <-done })
	return sock
}

// connectVia sends one CONNECT over a unix socket as user:pass and returns
// the status and body of the answer.
func connectVia(t *testing.T, sock, target, user, pass string) (int, string) {
	t.Helper()
	return connectOn(t, "unix", sock, target, user, pass)
}

// connectOn is connectVia on any network: a CONNECT to target as
// user:pass, and the proxy's status and refusal text.
func connectOn(t *testing.T, network, addr, target, user, pass string) (int, string) {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", target, target, basic(user, pass))
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServeSessionOnlyItsOwnCredential: a session's socket accepts that
// session's credential and no other, even a valid one.
func TestServeSessionOnlyItsOwnCredential(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback, func(c *Config) {
		c.OwnListenerOnly = func(name string) bool { return name == "sess-a" }
	})
	other, _ := NewSecret()
	if err := h.sessions.Set("sess-b", other); err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer up.Close()
	target := strings.TrimPrefix(up.URL, "http://")
	sock := serveSession(t, h, h.name)
	if code, body := connectVia(t, sock, target, h.name, h.secret); code != http.StatusOK {
		t.Fatalf("own credential: %d %s", code, body)
	}
	if code, _ := connectVia(t, sock, target, "sess-b", other); code != http.StatusProxyAuthRequired {
		t.Fatalf("another session's valid credential through this socket: %d, want 407", code)
	}
	// Its own listener only: the TCP one, which anyone on the host can
	// reach, refuses it, and still serves a session not bound to a socket.
	tcp := func(user, pass string) int {
		code, _ := connectOn(t, "tcp", h.addr, target, user, pass)
		return code
	}
	if code := tcp(h.name, h.secret); code != http.StatusProxyAuthRequired {
		t.Errorf("a socket-only session's credential on the TCP listener: %d, want 407", code)
	}
	if code := tcp("sess-b", other); code != http.StatusOK {
		t.Errorf("another session on the TCP listener: %d, want 200", code)
	}
	if err := h.proxy.ServeSession(context.Background(), nil, ""); err == nil {
		t.Error("ServeSession without a name")
	}
	// The refusal on the socket is recorded as from that session's socket
	// (a unix peer has no address of its own).
	h.stop()
	var fromSocket bool
	for _, l := range auditLines(t, filepath.Join(h.home, RefusedFile)) {
		if l["addr"] == "socket of session sess-a" {
			fromSocket = true
		}
	}
	if !fromSocket {
		t.Error("no refused line names the session's socket")
	}
}

// TestEgressPolicyRefusesWith403: a host the policy refuses gets a 403
// whose message is the policy's, for CONNECT and plain http, and an audit
// line; rule hosts are never asked about.
func TestEgressPolicyRefusesWith403(t *testing.T) {
	var asked []string
	h := newHarness(t, canaryOAuth, allowLoopback, func(c *Config) {
		c.Egress = func(s, host string) error {
			asked = append(asked, s+" "+host)
			if host == "denied.example" {
				return errors.New("session sess-a may not reach denied.example; to allow it, run on the host: clauderon egress allow sess-a denied.example")
			}
			return nil
		}
	})
	sock := serveSession(t, h, h.name)
	code, body := connectVia(t, sock, "denied.example:443", h.name, h.secret)
	if code != http.StatusForbidden || !strings.Contains(body, "clauderon egress allow sess-a denied.example") {
		t.Fatalf("CONNECT denied.example: %d %s", code, body)
	}
	resp, b := do(t, h.defaultClient(), newRequest(t, "GET", "http://denied.example/x", nil, nil))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "egress allow") {
		t.Fatalf("plain http to denied.example: %d %s", resp.StatusCode, b)
	}
	// api.anthropic.com is a rule host: intercepted, never asked about.
	resp, _ = do(t, h.defaultClient(), newRequest(t, "POST", "https://"+AnthropicHost+"/v1/messages", strings.NewReader(`{}`), nil))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the rule host: %d", resp.StatusCode)
	}
	for _, a := range asked {
		if strings.Contains(a, AnthropicHost) {
			t.Errorf("the egress policy was asked about the rule host: %s", a)
		}
	}
	h.stop()
	denied := 0
	for _, l := range auditLines(t, filepath.Join(h.home, AuditFile)) {
		if l["status"] == float64(http.StatusForbidden) && l["host"] != nil && strings.HasPrefix(l["host"].(string), "denied.example") {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("%d audit lines record the denials, want 2", denied)
	}
}

// TestPlainIdleBounded: plain-http requests to many hosts (and one host by
// several spellings) leave at most maxPlainIdle idle upstream connections,
// which no connection pool counts.
func TestPlainIdleBounded(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback)
	var open atomic.Int64
	track := func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	var urls []string
	for range 20 {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
		srv.Config.ConnState = track
		srv.Start()
		defer srv.Close()
		urls = append(urls, srv.URL)
	}
	c := h.defaultClient()
	var wg sync.WaitGroup
	for _, u := range urls {
		for _, spelling := range []string{u, strings.Replace(u, "127.0.0.1", "LOCALHOST", 1), strings.Replace(u, "127.0.0.1", "localhost.", 1)} {
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := c.Get(spelling + "/x")
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
			}
		}
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for open.Load() > maxPlainIdle && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := open.Load(); n > maxPlainIdle {
		t.Errorf("%d upstream connections stay open after the requests, want at most %d", n, maxPlainIdle)
	}
}

func TestCanonicalHost(t *testing.T) {
	for in, want := range map[string]string{"GitHub.COM.:80": "github.com:80", "Example.org": "example.org", "[::1]:8080": "[::1]:8080"} {
		if got := canonicalHost(in); got != want {
			t.Errorf("canonicalHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSessionRefusalsCannotWipeAudit: a session that makes thousands of
// requests its policy denies gets a budget of full lines; the rest are
// folded into refused.jsonl, and another session's earlier line is still
// in audit.jsonl or its rotations.
func TestSessionRefusalsCannotWipeAudit(t *testing.T) {
	dir := t.TempDir()
	small, err := OpenAudit(filepath.Join(dir, AuditFile), 64<<10) // room for a few windows of budget on a slow machine
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, canaryOAuth, allowLoopback, func(c *Config) {
		c.Audit = small
		c.Egress = func(s, host string) error {
			if s == "sess-b" {
				return errors.New("denied")
			}
			return nil
		}
	})
	other, _ := NewSecret()
	if err := h.sessions.Set("sess-b", other); err != nil {
		t.Fatal(err)
	}
	resp, _ := do(t, h.defaultClient(), newRequest(t, "POST", "https://"+AnthropicHost+"/v1/messages", strings.NewReader(`{}`), nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sess-a's request: %d", resp.StatusCode)
	}
	sock := serveSession(t, h, "sess-b")
	for i := range 2000 {
		if code, _ := connectVia(t, sock, fmt.Sprintf("denied-%d.example:443", i), "sess-b", other); code != http.StatusForbidden {
			t.Fatalf("denial %d: %d", i, code)
		}
	}
	h.stop()
	small.Close()
	if !injectedLineKept(t, dir, "sess-a") {
		t.Error("sess-b's denials rotated sess-a's line out of the audit log")
	}
	var counted float64
	for _, l := range auditLines(t, filepath.Join(dir, RefusedFile)) {
		if l["addr"] == "session sess-b" {
			if c, ok := l["count"].(float64); ok {
				counted += c
			} else {
				counted++
			}
		}
	}
	// Every denial is somewhere: in full within a window's budget (one
	// window, or a few on a slow machine), counted past it.
	if counted < 2000-3*sessionRefusalBudget || counted > 2000-sessionRefusalBudget {
		t.Errorf("refused.jsonl counts %v of sess-b's denials past its budget, want about %d", counted, 2000-sessionRefusalBudget)
	}
}

// TestSharedListenerAdoptsSessions: on a shared listener whose pool holds
// 2, a session that authenticates moves to its own pool, so it can hold
// more tunnels than the shared pool has places, and another session still
// gets in; a session whose own pool is full is told so with a 503.
func TestSharedListenerAdoptsSessions(t *testing.T) {
	own := map[string]*ConnPool{"sess-a": NewConnPool(4), "sess-b": NewConnPool(4)}
	h := newHarness(t, canaryOAuth, allowLoopback, func(c *Config) {
		c.SessionPool = func(name string) *ConnPool { return own[name] }
	})
	other, _ := NewSecret()
	if err := h.sessions.Set("sess-b", other); err != nil {
		t.Fatal(err)
	}
	shared := NewConnPool(2)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.proxy.Serve(ctx, Limit(ln, shared)) }()
	defer func() { cancel(); <-done }()
	up, err := holdOpen(t)
	if err != nil {
		t.Fatal(err)
	}
	tunnel := func(user, pass string) (net.Conn, int) {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\n\r\n", up, up, basic(user, pass))
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
		if err != nil {
			t.Fatalf("%s's tunnel: %v", user, err)
		}
		resp.Body.Close()
		c.SetDeadline(time.Time{})
		return c, resp.StatusCode
	}
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range 4 {
		c, code := tunnel(h.name, h.secret)
		held = append(held, c)
		if code != http.StatusOK {
			t.Fatalf("sess-a's tunnel %d through a shared pool of 2: %d", i, code)
		}
	}
	if own["sess-a"].InUse() != 4 || shared.InUse() > 1 {
		t.Errorf("sess-a's pool holds %d, the shared one %d; want 4 and at most the next accept's", own["sess-a"].InUse(), shared.InUse())
	}
	c, code := tunnel("sess-b", other)
	held = append(held, c)
	if code != http.StatusOK {
		t.Errorf("sess-b after sess-a's four tunnels: %d", code)
	}
	c, code = tunnel(h.name, h.secret)
	held = append(held, c)
	if code != http.StatusServiceUnavailable {
		t.Errorf("sess-a's fifth tunnel, past its own pool: %d, want 503", code)
	}
}

// holdOpen listens on loopback and holds every connection open.
func holdOpen(t *testing.T) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); c.Read(make([]byte, 1)) }()
		}
	}()
	return l.Addr().String(), nil
}

// TestSessionTunnelFloodCannotWipeAudit: a session that opens thousands of
// tunnels to the intercepted host and hangs up before TLS (no upstream
// involved, allowed under every policy) is folded past its budget too.
func TestSessionTunnelFloodCannotWipeAudit(t *testing.T) {
	dir := t.TempDir()
	small, err := OpenAudit(filepath.Join(dir, AuditFile), 64<<10) // room for a few windows of budget on a slow machine
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, canaryOAuth, allowLoopback, func(c *Config) { c.Audit = small })
	other, _ := NewSecret()
	if err := h.sessions.Set("sess-b", other); err != nil {
		t.Fatal(err)
	}
	resp, _ := do(t, h.defaultClient(), newRequest(t, "POST", "https://"+AnthropicHost+"/v1/messages", strings.NewReader(`{}`), nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sess-a's request: %d", resp.StatusCode)
	}
	sock := serveSession(t, h, "sess-b")
	for i := range 1500 {
		if code, _ := connectVia(t, sock, AnthropicHost+":443", "sess-b", other); code != http.StatusOK {
			t.Fatalf("tunnel %d: %d", i, code)
		}
	}
	h.stop()
	small.Close()
	if !injectedLineKept(t, dir, "sess-a") {
		t.Error("sess-b's tunnels rotated sess-a's line out of the audit log")
	}
}

// TestPlainRequestsDialPerSession: a plain-http request never rides an
// idle connection another session's request opened, so each session's dial
// check applies to each of its requests.
func TestPlainRequestsDialPerSession(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback, func(c *Config) {
		c.SessionDial = func(session, _ string, _ netip.Addr) error {
			if session == "sess-b" {
				return fmt.Errorf("%w: not for sess-b", ErrDialDenied)
			}
			return nil
		}
	})
	other, _ := NewSecret()
	if err := h.sessions.Set("sess-b", other); err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "secret-host-service") }))
	defer up.Close()
	a, b := h.defaultClient(), h.client("sess-b", other)
	for i := range 3 {
		if resp, body := do(t, a, newRequest(t, "GET", up.URL+"/x", nil, nil)); resp.StatusCode != http.StatusOK {
			t.Fatalf("sess-a: %d %s", resp.StatusCode, body)
		}
		if resp, body := do(t, b, newRequest(t, "GET", up.URL+"/x", nil, nil)); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("round %d: sess-b after sess-a: %d %s; want 403", i, resp.StatusCode, body)
		}
	}
}

// injectedLineKept reports whether audit.jsonl or one of its rotations in
// dir still holds an injected request of session.
func injectedLineKept(t *testing.T, dir, session string) bool {
	t.Helper()
	for _, f := range []string{AuditFile, AuditFile + ".1", AuditFile + ".2", AuditFile + ".3"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			continue
		}
		for _, l := range auditLines(t, filepath.Join(dir, f)) {
			if l["session"] == session && l["auth_injected"] == true {
				return true
			}
		}
	}
	return false
}
