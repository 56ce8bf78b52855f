package webui

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// clock is a settable Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// seen is what the fake LocalAPI was handed.
type seen struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (s *seen) last() *http.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		return nil
	}
	return s.reqs[len(s.reqs)-1]
}

type env struct {
	srv   *Server
	base  string
	clock *clock
	api   *seen
	// attach is what the fake Attach does.
	attach func(name string) (io.ReadWriteCloser, error)
	resize chan [2]uint
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, api: &seen{}, resize: make(chan [2]uint, 4)}
	files := fstest.MapFS{
		"index.html": {Data: []byte("<!doctype html><title>index</title>")},
		"js/app.js":  {Data: []byte("console.log(1)")},
	}
	srv, err := New(Config{
		API: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			e.api.mu.Lock()
			e.api.reqs = append(e.api.reqs, r)
			e.api.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"from":"api","path":`+strconv.Quote(r.URL.Path)+`}`)
		}),
		Attach: func(_ context.Context, name string) (io.ReadWriteCloser, error) { return e.attach(name) },
		Resize: func(_ context.Context, name string, rows, cols uint) error {
			e.resize <- [2]uint{cols, rows}
			return nil
		},
		WriteError: func(w http.ResponseWriter, err error) {
			writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error(), "code": "state"})
		},
		Files: files,
		Now:   e.clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	e.srv, e.base = srv, srv.Origin()
	return e
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (e *env) loginURL(t *testing.T) string {
	t.Helper()
	u, _, err := e.srv.Login()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// loggedIn is a client holding a session cookie, and the session's CSRF token.
func (e *env) loggedIn(t *testing.T) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.Get(e.loginURL(t))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login = %d, want 200", resp.StatusCode)
	}
	csrf := csrfOfPage(string(b))
	if csrf == "" {
		t.Fatalf("no session token in the login page: %s", b)
	}
	return c, csrf
}

var csrfMeta = regexp.MustCompile(`<meta name="clauderon-csrf" content="([A-Za-z0-9_-]+)">`)

// csrfOfPage is the session token the login page hands its origin.
func csrfOfPage(body string) string {
	if m := csrfMeta.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

func getJSON(t *testing.T, c *http.Client, u string, v any) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// TestLoginSetsCookieAndHandsTheToken: a good login token sets the
// cookie and answers the page that gives the session token to this
// origin; a used or unknown one is refused.
func TestLoginSetsCookieAndHandsTheToken(t *testing.T) {
	e := setup(t)
	u := e.loginURL(t)
	if !strings.HasPrefix(u, "http://127.0.0.1:"+strconv.Itoa(e.srv.Port())+"/login?token=") {
		t.Fatalf("login URL %q", u)
	}
	tok := strings.TrimPrefix(u, e.base+"/login?token=")
	if len(tok) != 43 { // 32 bytes, base64url without padding
		t.Errorf("token %q has %d characters, want 43", tok, len(tok))
	}
	req, _ := http.NewRequest("GET", u, nil)
	resp, page := do(t, noRedirect(), req)
	if resp.StatusCode != http.StatusOK || csrfOfPage(page) == "" || !strings.Contains(page, `<script type="module" src="/js/login.js">`) {
		t.Fatalf("login = %d %q, want 200: a page handing the session token to login.js", resp.StatusCode, page)
	}
	if strings.Contains(page, tok) {
		t.Error("the login page holds the login token")
	}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == cookieName {
			c = k
		}
	}
	if c == nil {
		t.Fatalf("no %s cookie in %v", cookieName, resp.Header["Set-Cookie"])
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Value == "" {
		t.Errorf("cookie %+v, want HttpOnly, SameSite=Strict, Path=/", c)
	}
	if c.Value == tok || c.Value == csrfOfPage(page) {
		t.Error("the cookie is the login token or the session token")
	}

	// A second use of the same token.
	resp, body := do(t, noRedirect(), req)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "clauderon ui") {
		t.Errorf("second use = %d %q, want 401 telling to run clauderon ui", resp.StatusCode, body)
	}
	// A made-up one.
	req2, _ := http.NewRequest("GET", e.base+"/login?token=AAAA", nil)
	if resp, _ := do(t, noRedirect(), req2); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown token = %d, want 401", resp.StatusCode)
	}
}

func TestLoginExpires(t *testing.T) {
	e := setup(t)
	fresh, stale := e.loginURL(t), e.loginURL(t)
	e.clock.add(loginTTL - time.Second)
	req, _ := http.NewRequest("GET", fresh, nil)
	if resp, _ := do(t, noRedirect(), req); resp.StatusCode != http.StatusOK {
		t.Fatalf("a token just before expiry = %d, want 200", resp.StatusCode)
	}
	e.clock.add(time.Second)
	req, _ = http.NewRequest("GET", stale, nil)
	if resp, _ := do(t, noRedirect(), req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an expired token = %d, want 401", resp.StatusCode)
	}
}

func TestNoCookie(t *testing.T) {
	e := setup(t)
	for _, p := range []string{"/api/v0/sessions", "/ui/session", "/", "/js/app.js", "/ui/attach/s1"} {
		req, _ := http.NewRequest("GET", e.base+p, nil)
		resp, body := do(t, http.DefaultClient, req)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "clauderon ui") {
			t.Errorf("%s without a cookie = %d %q, want 401 naming clauderon ui", p, resp.StatusCode, body)
		}
	}
	req, _ := http.NewRequest("GET", e.base+"/", nil)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: "forged"})
	if resp, _ := do(t, http.DefaultClient, req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/ with a forged cookie = %d, want 401", resp.StatusCode)
	}
	if e.api.last() != nil {
		t.Error("the LocalAPI was reached without a cookie")
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	e := setup(t)
	c, _ := e.loggedIn(t)
	e.clock.add(sessionIdle)
	resp, _ := do(t, c, mustReq("GET", e.base+"/ui/session", nil))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a session idle for %v = %d, want 401", sessionIdle, resp.StatusCode)
	}
}

// TestCookieAloneIsNotEnough: the cookie reaches every port of 127.0.0.1,
// so a server on another port that catches it must get nothing with it:
// every /api and /ui request needs the session token too (a header, or a
// WebSocket subprotocol); the public files need the cookie only. Refusals
// close the connection.
func TestCookieAloneIsNotEnough(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	for _, p := range []string{"/api/v0/sessions", "/api/v0/status", "/ui/session", "/ui/attach/s1"} {
		resp, body := do(t, c, mustReq("GET", e.base+p, nil))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") || !resp.Close {
			t.Errorf("GET %s with the cookie alone = %d %q (close %v), want 403 closing the connection", p, resp.StatusCode, body, resp.Close)
		}
	}
	req := mustReq("GET", e.base+"/api/v0/sessions", nil)
	req.Header.Set(csrfHeader, csrf)
	if resp, body := do(t, c, req); resp.StatusCode != http.StatusOK {
		t.Errorf("with the token = %d %q, want 200", resp.StatusCode, body)
	}
	req = mustReq("GET", e.base+"/api/v0/sessions", nil)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Protocol", wsProtocol+", "+tokenPrefix+csrf)
	if resp, body := do(t, c, req); resp.StatusCode != http.StatusOK {
		t.Errorf("with the token as a subprotocol = %d %q, want it let through", resp.StatusCode, body)
	}
	req = mustReq("GET", e.base+"/api/v0/sessions", nil)
	req.Header.Set("Sec-WebSocket-Protocol", tokenPrefix+csrf) // not an upgrade
	if resp, _ := do(t, c, req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the subprotocol on a plain request = %d, want 403", resp.StatusCode)
	}
	if resp, _ := do(t, c, mustReq("GET", e.base+"/", nil)); resp.StatusCode != http.StatusOK {
		t.Errorf("the page with the cookie = %d, want 200", resp.StatusCode)
	}
}

func mustReq(method, u string, body io.Reader) *http.Request {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		panic(err)
	}
	return req
}

func TestGuard(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	port := strconv.Itoa(e.srv.Port())
	other := strconv.Itoa(e.srv.Port() + 1)
	for _, tc := range []struct {
		name, path, host string
		header           map[string]string
		want             int
	}{
		{name: "own host", path: "/api/v0/sessions", want: 200},
		{name: "localhost", path: "/api/v0/sessions", host: "localhost:" + port, want: 403},
		{name: "cross-site login", path: "/login?token=x", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 401},
		{name: "foreign host", path: "/api/v0/sessions", host: "evil.com:" + port, want: 403},
		{name: "other port", path: "/api/v0/sessions", host: "127.0.0.1:" + other, want: 403},
		{name: "rebinding name", path: "/", host: "rebind.127.0.0.1.nip.io:" + port, want: 403},
		{name: "no port", path: "/", host: "127.0.0.1", want: 403},
		{name: "foreign host on login", path: "/login?token=x", host: "evil.com:" + port, want: 403},
		{name: "own origin", path: "/api/v0/sessions", header: map[string]string{"Origin": "http://127.0.0.1:" + port}, want: 200},
		{name: "foreign origin", path: "/api/v0/sessions", header: map[string]string{"Origin": "http://evil.com"}, want: 403},
		{name: "origin of the other name", path: "/api/v0/sessions", header: map[string]string{"Origin": "http://localhost:" + port}, want: 403},
		{name: "https origin", path: "/api/v0/sessions", header: map[string]string{"Origin": "https://127.0.0.1:" + port}, want: 403},
		{name: "null origin", path: "/", header: map[string]string{"Origin": "null"}, want: 403},
		{name: "same-origin fetch", path: "/api/v0/sessions", header: map[string]string{"Sec-Fetch-Site": "same-origin"}, want: 200},
		{name: "cross-site fetch", path: "/api/v0/sessions", header: map[string]string{"Sec-Fetch-Site": "cross-site"}, want: 403},
		{name: "same-site fetch", path: "/", header: map[string]string{"Sec-Fetch-Site": "same-site"}, want: 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := mustReq("GET", e.base+tc.path, nil)
			if tc.host != "" {
				req.Host = tc.host
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			req.Header.Set(csrfHeader, csrf)
			// By hand: a cookie jar picks cookies by the URL, not by Host.
			for _, k := range c.Jar.Cookies(req.URL) {
				req.AddCookie(k)
			}
			if resp, body := do(t, http.DefaultClient, req); resp.StatusCode != tc.want {
				t.Errorf("= %d %q, want %d", resp.StatusCode, body, tc.want)
			}
		})
	}
}

func TestCSRF(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"none", "", 403},
		{"wrong", csrf + "x", 403},
		{"right", csrf, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.api.last()
			req := mustReq("POST", e.base+"/api/v0/sessions/s1/stop", strings.NewReader("{}"))
			if tc.token != "" {
				req.Header.Set(csrfHeader, tc.token)
			}
			resp, body := do(t, c, req)
			if resp.StatusCode != tc.want {
				t.Fatalf("POST = %d %q, want %d", resp.StatusCode, body, tc.want)
			}
			reached := e.api.last() != before
			if reached != (tc.want == 200) {
				t.Errorf("LocalAPI reached: %v", reached)
			}
			if tc.want == 403 && !strings.Contains(body, "missing or wrong CSRF token") {
				t.Errorf("body %q", body)
			}
		})
	}
	// Another session's token is no good here.
	_, csrf2 := e.loggedIn(t)
	req := mustReq("DELETE", e.base+"/api/v0/sessions/s1", nil)
	req.Header.Set(csrfHeader, csrf2)
	if resp, _ := do(t, c, req); resp.StatusCode != 403 {
		t.Errorf("another session's CSRF token = %d, want 403", resp.StatusCode)
	}
}

func TestAPIGetsNoBrowserHeaders(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	req := mustReq("POST", e.base+"/api/v0/sessions", strings.NewReader("{}"))
	req.Header.Set("Origin", e.base)
	req.Header.Set("Referer", e.base+"/")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set(csrfHeader, csrf)
	resp, body := do(t, c, req)
	if resp.StatusCode != 200 || !strings.Contains(body, `"path":"/api/v0/sessions"`) {
		t.Fatalf("= %d %q", resp.StatusCode, body)
	}
	got := e.api.last()
	for _, h := range []string{"Origin", "Referer", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Cookie", csrfHeader} {
		if v := got.Header.Get(h); v != "" {
			t.Errorf("the LocalAPI got %s: %q", h, v)
		}
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("API answer Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
	}
}

func TestStatic(t *testing.T) {
	e := setup(t)
	c, csrf := e.loggedIn(t)
	for _, tc := range []struct {
		path     string
		want     int
		body, ct string
	}{
		{"/", 200, "<title>index</title>", "text/html"},
		{"/js/app.js", 200, "console.log(1)", "text/javascript"},
		{"/sessions/x", 200, "<title>index</title>", "text/html"},
		{"/js/missing.js", 404, "", ""},
		{"/js", 200, "<title>index</title>", "text/html"},               // a directory is never listed
		{"/../../etc/passwd", 200, "<title>index</title>", "text/html"}, // cleaned: a client route, not a host file
	} {
		resp, body := do(t, c, mustReq("GET", e.base+tc.path, nil))
		if resp.StatusCode != tc.want || !strings.Contains(body, tc.body) || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ct) {
			t.Errorf("GET %s = %d %q %q, want %d %q %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.want, tc.ct, tc.body)
		}
		if resp.Header.Get("Content-Security-Policy") != csp || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s headers %v", tc.path, resp.Header)
		}
	}
	req := mustReq("GET", e.base+"/ui/nothing", nil)
	req.Header.Set(csrfHeader, csrf)
	resp, _ := do(t, c, req)
	if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("/ui/nothing = %d %q, want a JSON 404", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestNewRefusesTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = New(Config{Port: port, API: http.NotFoundHandler(), Files: fstest.MapFS{},
		Attach: func(context.Context, string) (io.ReadWriteCloser, error) { return nil, errors.New("no") },
		Resize: func(context.Context, string, uint, uint) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "ui.port") {
		t.Errorf("New on a taken port: %v, want an error naming ui.port", err)
	}
}
