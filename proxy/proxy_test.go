package proxy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestInjection(t *testing.T) {
	tests := []struct {
		name       string
		token      string
		hdr        map[string][]string
		wantAuth   string
		wantKey    string
		wantBeta   string
		wantAbsent []string
	}{
		{
			name:     "oauth replaces client bearer and adds beta",
			token:    canaryOAuth,
			hdr:      map[string][]string{"Authorization": {"Bearer " + clientToken}},
			wantAuth: "Bearer " + canaryOAuth,
			wantBeta: OAuthBeta,
		},
		{
			name:     "oauth appends beta to client's list",
			token:    canaryOAuth,
			hdr:      map[string][]string{"Anthropic-Beta": {"claude-code-20250219,interleaved-thinking-2025-05-14"}},
			wantAuth: "Bearer " + canaryOAuth,
			wantBeta: "claude-code-20250219,interleaved-thinking-2025-05-14," + OAuthBeta,
		},
		{
			name:     "oauth beta not duplicated",
			token:    canaryOAuth,
			hdr:      map[string][]string{"Anthropic-Beta": {"claude-code-20250219, " + OAuthBeta}},
			wantAuth: "Bearer " + canaryOAuth,
			wantBeta: "claude-code-20250219, " + OAuthBeta,
		},
		{
			name:     "oauth strips a client x-api-key",
			token:    canaryOAuth,
			hdr:      map[string][]string{"X-Api-Key": {"sk-ant-api03-client"}},
			wantAuth: "Bearer " + canaryOAuth,
			wantBeta: OAuthBeta,
		},
		{
			name:    "api key replaces client key and bearer",
			token:   canaryAPIKey,
			hdr:     map[string][]string{"X-Api-Key": {"sk-ant-api03-client"}, "Authorization": {"Bearer " + clientToken}},
			wantKey: canaryAPIKey,
		},
		{
			name:     "Connection: Authorization cannot strip the injected bearer",
			token:    canaryOAuth,
			hdr:      map[string][]string{"Authorization": {"Bearer " + clientToken}, "Connection": {"Authorization"}},
			wantAuth: "Bearer " + canaryOAuth,
			wantBeta: OAuthBeta,
		},
		{
			name:    "Connection: X-Api-Key cannot strip the injected key",
			token:   canaryAPIKey,
			hdr:     map[string][]string{"X-Api-Key": {"sk-ant-api03-client"}, "Connection": {"X-Api-Key, keep-alive"}},
			wantKey: canaryAPIKey,
		},
		{
			// The client's credentials and a flag it asked to drop go; what
			// the proxy adds stays, whatever Connection names.
			name:  "Connection naming every credential header cannot strip the injected ones",
			token: canaryOAuth,
			hdr: map[string][]string{
				"Connection":     {"Authorization, X-Api-Key, Anthropic-Beta"},
				"Authorization":  {"Bearer " + clientToken},
				"X-Api-Key":      {"sk-ant-api03-client"},
				"Anthropic-Beta": {"dropped-because-connection-named-it"},
				"Keep-Alive":     {"timeout=5"},
			},
			wantAuth:   "Bearer " + canaryOAuth,
			wantBeta:   OAuthBeta,
			wantAbsent: []string{"Keep-Alive", "Connection"},
		},
		{
			name:       "Connection-named and hop-by-hop headers are dropped",
			token:      canaryOAuth,
			hdr:        map[string][]string{"Connection": {"X-Secret-Hop"}, "X-Secret-Hop": {"1"}, "Proxy-Connection": {"keep-alive"}},
			wantAuth:   "Bearer " + canaryOAuth,
			wantBeta:   OAuthBeta,
			wantAbsent: []string{"X-Secret-Hop", "Proxy-Connection", "Proxy-Authorization"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.token)
			req := newRequest(t, "POST", "https://api.anthropic.com/echo/x?beta=true", strings.NewReader(`{}`), tt.hdr)
			resp, body := do(t, h.defaultClient(), req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var echo echoReply
			if err := json.Unmarshal(body, &echo); err != nil {
				t.Fatal(err)
			}
			got := echo.Headers
			if g := got.Get("Authorization"); g != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", g, tt.wantAuth)
			}
			if g := got.Get("X-Api-Key"); g != tt.wantKey {
				t.Errorf("X-Api-Key = %q, want %q", g, tt.wantKey)
			}
			if g := strings.Join(got.Values("Anthropic-Beta"), ","); g != tt.wantBeta {
				t.Errorf("Anthropic-Beta = %q, want %q", g, tt.wantBeta)
			}
			if n := len(got.Values("Authorization")); n > 1 {
				t.Errorf("%d Authorization headers upstream", n)
			}
			for _, k := range append(tt.wantAbsent, "Proxy-Authorization") {
				if v, ok := got[http.CanonicalHeaderKey(k)]; ok {
					t.Errorf("upstream received %s: %q", k, v)
				}
			}
			for _, r := range h.fake.Requests() {
				if r.ProxyAuth != "" {
					t.Errorf("upstream received Proxy-Authorization")
				}
				if r.Proto != "HTTP/2.0" {
					t.Errorf("upstream protocol %s, want HTTP/2.0 (the fake offers h2)", r.Proto)
				}
			}
		})
	}
}

func TestMessagesThroughProxy(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	req := newRequest(t, "POST", "https://api.anthropic.com/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`),
		map[string][]string{"Authorization": {"Bearer " + clientToken}, "Content-Type": {"application/json"}})
	resp, body := do(t, h.defaultClient(), req)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Hello from the fake") {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	// The client saw our leaf, signed by our CA, for the intercepted host.
	if resp.TLS == nil || resp.TLS.PeerCertificates[0].Issuer.CommonName != h.ca.Certificate().Subject.CommonName {
		t.Errorf("client did not see the proxy's leaf: %+v", resp.TLS)
	}
	got := h.fake.MessageRequests()
	if len(got) != 1 || got[0].Authorization != "Bearer "+canaryOAuth {
		t.Fatalf("upstream saw %+v", got)
	}
}

func TestProxyAuthRequired(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	other, _ := NewSecret()
	if err := h.sessions.Set("sess-b", other); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pass string
	}{
		{"no credentials", "", ""},
		{"wrong secret", h.name, "wrong"},
		{"unknown session", "nobody", h.secret},
		{"another session's secret", "sess-b", h.secret},
		{"empty secret", h.name, ""},
		// A token pasted where the session name goes must not be recorded.
		{"a token as the session name", canaryAPIKey, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, target := range []string{"https://api.anthropic.com/echo/x", "http://example.invalid/x"} {
				status, hdr := rawProxyRequest(t, h, tt.user, tt.pass, target)
				if status != http.StatusProxyAuthRequired {
					t.Errorf("%s: status %d, want 407", target, status)
				}
				if got := hdr.Get("Proxy-Authenticate"); got != `Basic realm="clauderon"` {
					t.Errorf("%s: Proxy-Authenticate %q", target, got)
				}
			}
		})
	}
	if len(h.fake.Requests()) != 0 {
		t.Errorf("upstream was reached without proxy credentials")
	}
	h.stop() // every audit line written
	if b, err := os.ReadFile(filepath.Join(h.home, AuditFile)); err != nil || len(b) != 0 {
		t.Errorf("requests that did not authenticate are in the audit log (%v):\n%s", err, b)
	}
	b, err := os.ReadFile(filepath.Join(h.home, RefusedFile))
	if err != nil {
		t.Fatal(err)
	}
	refused := auditLines(t, filepath.Join(h.home, RefusedFile))
	if n := refusedCount(refused, http.StatusProxyAuthRequired); n != 2*len(tests) {
		t.Errorf("%s accounts for %d requests with status 407, want %d", RefusedFile, n, 2*len(tests))
	}
	// A removed session still retrying is named, in full or in the summary
	// that counts it; a pasted secret is not.
	if !strings.Contains(string(b), `"session":"nobody"`) && !strings.Contains(string(b), `"nobody":`) {
		t.Error("the refused request of session nobody is not attributed to it")
	}
	for what, s := range map[string]string{"refused log": string(b), "proxy log": h.logs.String()} {
		if strings.Contains(s, canaryAPIKey) {
			t.Errorf("the %s holds the token given as a session name", what)
		}
	}
}

func TestProxyAuthSecondSession(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	other, _ := NewSecret()
	if err := h.sessions.Set("sess-b", other); err != nil {
		t.Fatal(err)
	}
	// The second session works with its own secret.
	resp, body := do(t, h.client("sess-b", other), newRequest(t, "GET", "https://api.anthropic.com/echo/b", nil, nil))
	if resp.StatusCode != 200 {
		t.Errorf("sess-b with its own secret: %d %s", resp.StatusCode, body)
	}
}

// rawProxyRequest sends one CONNECT (https targets) or absolute-URI request
// and returns the proxy's answer.
func rawProxyRequest(t *testing.T, h *harness, user, pass, target string) (int, http.Header) {
	t.Helper()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	line := "GET " + target + " HTTP/1.1\r\nHost: example.invalid\r\n"
	if strings.HasPrefix(target, "https://") {
		line = "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n"
	}
	if user != "" {
		line += "Proxy-Authorization: Basic " + basic(user, pass) + "\r\n"
	}
	if _, err := io.WriteString(conn, line+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// plainAuthorizer hides Sessions' revocation signal, as an Authorizer that
// has none would.
type plainAuthorizer struct{ a Authorizer }

func (p plainAuthorizer) Authorize(name, secret string) bool { return p.a.Authorize(name, secret) }

// TestRemovedSessionRefusedInsideOpenTunnel: with an Authorizer that cannot
// signal revocation, an open intercepted tunnel stays up but each request
// inside it is checked again. (Sessions closes the tunnel itself; see
// TestRemoveClosesInterceptedConnection.)
func TestRemovedSessionRefusedInsideOpenTunnel(t *testing.T) {
	h := newHarness(t, canaryOAuth, func(c *Config) { c.Auth = plainAuthorizer{c.Auth} })
	c := h.defaultClient()
	var conns atomic.Int32
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) {
			if !i.Reused {
				conns.Add(1)
			}
		},
	})
	get := func() (*http.Response, []byte) {
		req := newRequest(t, "GET", "https://api.anthropic.com/echo/1", nil, nil)
		return do(t, c, req.WithContext(ctx))
	}
	if resp, body := get(); resp.StatusCode != 200 {
		t.Fatalf("before removal: %d %s", resp.StatusCode, body)
	}
	h.sessions.Remove(h.name)
	resp, body := get()
	if resp.StatusCode != http.StatusProxyAuthRequired {
		t.Fatalf("after removal: %d %s, want 407", resp.StatusCode, body)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("the second request opened a new tunnel (%d connections); it should reuse the open one", n)
	}
	// New tunnels are refused at CONNECT.
	_, err := h.defaultClient().Get("https://api.anthropic.com/echo/2")
	if err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Errorf("new tunnel after removal: %v, want 407", err)
	}
	if n := len(h.fake.Requests()); n != 1 {
		t.Errorf("upstream saw %d requests, want 1 (only the one before removal)", n)
	}
}

// TestRemovedSessionRefusedAfterOpenTunnel: with Sessions, the client's
// next request after removal fails whether or not it retries on a new
// tunnel, and never reaches the upstream.
func TestRemovedSessionRefusedAfterOpenTunnel(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	c := h.defaultClient()
	if resp, body := do(t, c, newRequest(t, "GET", "https://api.anthropic.com/echo/1", nil, nil)); resp.StatusCode != 200 {
		t.Fatalf("before removal: %d %s", resp.StatusCode, body)
	}
	h.sessions.Remove(h.name)
	// A 407 answer on the old tunnel, or a 407 to the client's new CONNECT.
	resp, err := c.Get("https://api.anthropic.com/echo/2")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusProxyAuthRequired {
			t.Errorf("after removal: %s, want 407", resp.Status)
		}
	} else if !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Errorf("after removal: %v, want 407", err)
	}
	if n := len(h.fake.Requests()); n != 1 {
		t.Errorf("upstream saw %d requests, want 1 (only the one before removal)", n)
	}
}

func TestTunnelNotIntercepted(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback)
	var seenAuth string
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seenAuth = r.Header.Get("Authorization")
		io.WriteString(w, "origin")
	}))
	defer up.Close()
	c := h.client(h.name, h.secret, up.Certificate())
	resp, body := do(t, c, newRequest(t, "GET", up.URL+"/path?q=secret", nil, map[string][]string{"Authorization": {"Bearer client-own"}}))
	if resp.StatusCode != 200 || string(body) != "origin" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if !resp.TLS.PeerCertificates[0].Equal(up.Certificate()) {
		t.Errorf("client saw %s, want the upstream's own certificate", resp.TLS.PeerCertificates[0].Subject)
	}
	if seenAuth != "Bearer client-own" {
		t.Errorf("tunnelled host got Authorization %q, want the client's own", seenAuth)
	}
	if len(h.src.names) != 0 {
		t.Errorf("credential source asked for a tunnelled host: %v", h.src.names)
	}
	// A client that trusts only the proxy CA must fail: nothing is minted.
	_, err := h.defaultClient().Get(up.URL)
	var uerr x509.UnknownAuthorityError
	if !errors.As(err, &uerr) {
		t.Errorf("client trusting only the proxy CA: err %v, want unknown authority", err)
	}
	h.stop()
	var tunnel map[string]any
	for _, l := range auditLines(t, h.audit.Path()) {
		if l["method"] == "CONNECT" && l["host"] == up.Listener.Addr().String() && l["status"] == float64(200) {
			tunnel = l
		}
	}
	if tunnel == nil || tunnel["intercepted"] != false || tunnel["bytes_in"].(float64) == 0 || tunnel["bytes_out"].(float64) == 0 {
		t.Errorf("tunnel audit line %v", tunnel)
	}
}

func TestPlainHTTPForward(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback)
	var seen http.Header
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		io.WriteString(w, "plain "+r.URL.RawQuery)
	}))
	defer up.Close()
	resp, body := do(t, h.defaultClient(), newRequest(t, "GET", up.URL+"/p?x=1", nil, nil))
	if resp.StatusCode != 200 || string(body) != "plain x=1" {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if seen.Get("Proxy-Authorization") != "" {
		t.Error("Proxy-Authorization forwarded to a plain-HTTP upstream")
	}
}

func TestUpstreamDown(t *testing.T) {
	dead := freePortClosed(t)
	h := newHarness(t, canaryOAuth, allowLoopback, func(c *Config) {
		c.Rules[0].Upstream = dead
	})
	resp, body := do(t, h.defaultClient(), newRequest(t, "GET", "https://api.anthropic.com/v1/models", nil, nil))
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	_, msg := errorMessage(t, body)
	if !strings.Contains(msg, "api.anthropic.com") || !strings.Contains(msg, "refused") {
		t.Errorf("message %q should name the host and the reason", msg)
	}
	// A tunnelled host that is down answers the CONNECT with 502 too.
	_, err := h.defaultClient().Get("https://" + dead + "/")
	if err == nil || !strings.Contains(err.Error(), "Bad Gateway") {
		t.Errorf("CONNECT to a dead host: %v, want 502 Bad Gateway", err)
	}
}

func TestNoCredential(t *testing.T) {
	h := newHarness(t, "")
	resp, body := do(t, h.defaultClient(), newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader("{}"), nil))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	want := "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"no Anthropic credential configured; run `clauderon token set`\"}}"
	if got := strings.TrimSpace(string(body)); got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
	if len(h.fake.Requests()) != 0 {
		t.Error("request without credential reached upstream")
	}
	h.stop()
	var found bool
	for _, l := range auditLines(t, h.audit.Path()) {
		if l["path"] == "/v1/messages" && l["status"] == float64(401) && l["auth_injected"] == false && l["error"] != nil {
			found = true
		}
	}
	if !found {
		t.Error("no audit line for the 401")
	}
}

func TestLoopRefused(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	_, port, _ := net.SplitHostPort(h.addr)
	for _, target := range []string{h.addr, "localhost:" + port} {
		status, body := connectRaw(t, h, target)
		if status != http.StatusLoopDetected {
			t.Errorf("CONNECT %s: status %d (%s), want 508", target, status, body)
		}
	}
	resp, body := do(t, h.defaultClient(), newRequest(t, "GET", "http://"+h.addr+"/x", nil, nil))
	if resp.StatusCode != http.StatusLoopDetected {
		t.Errorf("absolute URI to self: %d %s, want 508", resp.StatusCode, body)
	}
	// An upstream override pointing at the proxy itself is caught after dialling.
	h.proxy.rules[0].Upstream = h.addr
	h.proxy.transports[AnthropicHost] = h.proxy.ruleTransport(h.proxy.rules[0])
	resp, body = do(t, h.defaultClient(), newRequest(t, "GET", "https://api.anthropic.com/x", nil, nil))
	if resp.StatusCode != http.StatusLoopDetected {
		t.Errorf("rule upstream is the proxy: %d %s, want 508", resp.StatusCode, body)
	}
}

func connectRaw(t *testing.T, h *harness, target string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+basic(h.name, h.secret)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, "" // the tunnel is open; it has no body to read
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestNotAProxyRequest(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	req := newRequest(t, "GET", "http://"+h.addr+"/", nil, nil)
	req.Header.Set("Proxy-Authorization", "Basic "+basic(h.name, h.secret))
	resp, body := do(t, http.DefaultClient, req)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("origin-form request: %d %s, want 400", resp.StatusCode, body)
	}
}

func TestSSEFlushedEventByEvent(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	gate := make(chan struct{})
	h.fake.EventGate = gate
	t.Cleanup(func() { close(gate) }) // let a held-back fake finish on failure
	// A buffering proxy would hang below, the fake holding back event N+1
	// until the test has seen event N; the deadline turns that into an error.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req := newRequest(t, "POST", "https://api.anthropic.com/v1/messages",
		strings.NewReader(`{"model":"m","stream":true,"max_tokens":5,"messages":[]}`), nil)
	resp, err := h.defaultClient().Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	r := bufio.NewReader(resp.Body)
	var names []string
	for {
		ev, err := readEvent(r)
		if err != nil {
			t.Fatalf("events so far %v, then: %v (is the proxy buffering the stream?)", names, err)
		}
		names = append(names, ev)
		if ev == "message_stop" {
			break
		}
		select {
		case gate <- struct{}{}:
		case <-ctx.Done():
			t.Fatalf("fake never asked for event %d", len(names)+1)
		}
	}
	if len(names) < 5 || names[0] != "message_start" {
		t.Errorf("events %v", names)
	}
}

// readEvent reads one SSE event and returns its name.
func readEvent(r *bufio.Reader) (string, error) {
	var name string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return name, err
		}
		line = strings.TrimRight(line, "\r\n")
		if n, ok := strings.CutPrefix(line, "event: "); ok {
			name = n
		}
		if line == "" && name != "" {
			return name, nil
		}
	}
}

func TestTokenChangeTakesEffect(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	c := h.defaultClient()
	do(t, c, newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader("{}"), nil))
	h.src.set(t, canaryOAuth2)
	do(t, c, newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader("{}"), nil))
	h.src.set(t, canaryAPIKey)
	do(t, c, newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader("{}"), nil))
	got := h.fake.MessageRequests()
	if len(got) != 3 {
		t.Fatalf("%d requests upstream", len(got))
	}
	if got[0].Authorization != "Bearer "+canaryOAuth || got[1].Authorization != "Bearer "+canaryOAuth2 {
		t.Errorf("token change not applied: %q then %q", got[0].Authorization, got[1].Authorization)
	}
	if got[2].Authorization != "" || got[2].APIKey != canaryAPIKey {
		t.Errorf("switch to API key: Authorization %q, X-Api-Key %q", got[2].Authorization, got[2].APIKey)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback)
	// An open intercepted tunnel and an open blind tunnel must not keep Run alive.
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	do(t, h.defaultClient(), newRequest(t, "GET", "https://api.anthropic.com/echo/x", nil, nil))
	do(t, h.client(h.name, h.secret, up.Certificate()), newRequest(t, "GET", up.URL, nil, nil))
	h.stop() // fails the test if Run does not return nil
	if _, err := net.Dial("tcp", h.addr); err == nil {
		t.Error("listener still accepting after Run returned")
	}
}

func TestServeHTTP2Client(t *testing.T) {
	// A client that offers h2 inside the tunnel is answered over HTTP/1.1.
	h := newHarness(t, canaryOAuth)
	pool := x509.NewCertPool()
	pool.AddCert(h.ca.Certificate())
	tr := &http.Transport{Proxy: http.ProxyURL(h.proxyURL(h.name, h.secret)), TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, _ := do(t, &http.Client{Transport: tr}, newRequest(t, "GET", "https://api.anthropic.com/echo/x", nil, nil))
	if resp.StatusCode != 200 || resp.Proto != "HTTP/1.1" {
		t.Errorf("status %d proto %s", resp.StatusCode, resp.Proto)
	}
}

func TestLargeBodies(t *testing.T) {
	// Large writes to the client go out as gathered batches of TLS records,
	// and large upstream reads through a buffer; the bytes must still all
	// arrive, in order, for a body of known length.
	h := newHarness(t, canaryOAuth)
	c := h.defaultClient()
	for _, n := range []int{0, 1, 16 << 10, 16<<10 + 1, 3<<20 + 17} {
		resp, body := do(t, c, newRequest(t, "GET", "https://api.anthropic.com/big?n="+strconv.Itoa(n), nil, nil))
		if resp.StatusCode != http.StatusOK || len(body) != n || resp.ContentLength != int64(n) {
			t.Errorf("n=%d: status %d, %d bytes, Content-Length %d", n, resp.StatusCode, len(body), resp.ContentLength)
		}
		if i := bytes.IndexFunc(body, func(r rune) bool { return r != 0 }); i >= 0 {
			t.Errorf("n=%d: byte %d is not the zero the fake sent", n, i)
		}
	}
	// A large request body reaches the upstream whole.
	big := strings.Repeat("x", 2<<20+5)
	resp, body := do(t, c, newRequest(t, "POST", "https://api.anthropic.com/echo/up", strings.NewReader(big), nil))
	var got struct {
		BodyLen int `json:"body_len"`
	}
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != http.StatusOK || got.BodyLen != len(big) {
		t.Errorf("upload: status %d, upstream saw %d bytes (%v), want %d", resp.StatusCode, got.BodyLen, err, len(big))
	}
}

// TestPreAuthHeaderBudget: a request to the proxy whose headers pass the
// small pre-authentication budget is refused (431) without reaching the
// credential check, and one that sends its headers too slowly is dropped.
func TestPreAuthHeaderBudget(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	send := func(head string) (int, error) {
		conn, err := net.Dial("tcp", h.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, head); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	auth := "Proxy-Authorization: Basic " + basic(h.name, h.secret) + "\r\n"
	head := func(total int) string {
		h := "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n" + auth + "X-Pad: "
		return h + strings.Repeat("a", total-len(h)-4) + "\r\n\r\n"
	}
	if code, err := send(head(PreAuthHeaderBytes - 512)); err != nil || code != http.StatusOK {
		t.Errorf("a CONNECT with just under %d bytes of headers: %d, %v", PreAuthHeaderBytes, code, err)
	}
	if code, err := send(head(PreAuthHeaderBytes + 512)); err != nil || code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a CONNECT with just over %d bytes of headers: %d, %v; want 431", PreAuthHeaderBytes, code, err)
	}
	// Trickling: the proxy hangs up once the header deadline passes.
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "CONNECT api.anthropic.com:443 HTTP/1.1\r\n")
	conn.SetReadDeadline(time.Now().Add(PreAuthHeaderTimeout + 20*time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("a trickling client was not hung up on: %v", err)
	}
}
