package e2e

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// webSecurity checks the UI listener's guards with plain HTTP, no browser:
// each refusal next to the same request let through, so a refusal of
// everything would fail too.
func webSecurity(t *testing.T, e *webEnv) {
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	host := "127.0.0.1:" + strconv.Itoa(e.uiPort)
	type req struct {
		method, path string
		header       map[string]string
		host         string // "" is the UI's own
		cookie       bool
		body         string
	}
	var cookie *http.Cookie
	do := func(r req) (int, http.Header, string) {
		t.Helper()
		hr, err := http.NewRequest(r.method, e.base+r.path, strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		if r.host != "" {
			hr.Host = r.host
		}
		for k, v := range r.header {
			hr.Header.Set(k, v)
		}
		if r.cookie {
			hr.AddCookie(cookie)
		}
		resp, err := hc.Do(hr)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp.StatusCode, resp.Header, string(b)
	}

	// A foreign Host is refused before the token is even looked at.
	u := strings.TrimPrefix(e.loginURL(t), e.base)
	if code, _, _ := do(req{method: "GET", path: u, host: "evil.example:" + strconv.Itoa(e.uiPort)}); code != http.StatusForbidden {
		t.Errorf("login with a foreign Host: %d, want 403", code)
	}
	code, h, page := do(req{method: "GET", path: u})
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "clauderon_ui" {
			cookie = c
		}
	}
	m := regexp.MustCompile(`<meta name="clauderon-csrf" content="([A-Za-z0-9_-]+)">`).FindStringSubmatch(page)
	switch {
	case code != http.StatusOK || m == nil:
		t.Fatalf("login: %d %q, want the page handing the session token", code, page)
	case cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/":
		t.Fatalf("login cookie %+v, want clauderon_ui HttpOnly SameSite=Strict Path=/", cookie)
	}
	sess := struct{ CSRF string }{m[1]}
	csrf := map[string]string{"X-Clauderon-CSRF": sess.CSRF}

	for _, c := range []struct {
		what string
		r    req
		want int
		in   string // in the body
	}{
		{"the API with the cookie and the session token", req{method: "GET", path: "/api/v0/sessions", cookie: true, header: csrf}, 200, `"sessions"`},
		{"the API with the cookie alone (as a server on another port would have it)", req{method: "GET", path: "/api/v0/sessions", cookie: true}, 403, "CSRF"},
		{"the API without a cookie", req{method: "GET", path: "/api/v0/sessions"}, 401, "clauderon ui"},
		{"the API with a made-up cookie", req{method: "GET", path: "/api/v0/sessions", header: map[string]string{"Cookie": "clauderon_ui=AAAA"}}, 401, "clauderon ui"},
		{"a page without a cookie", req{method: "GET", path: "/"}, 401, "clauderon ui"},
		{"the API with a foreign Host", req{method: "GET", path: "/api/v0/sessions", cookie: true, host: "evil.example:" + strconv.Itoa(e.uiPort)}, 403, ""},
		{"the API with another port in Host", req{method: "GET", path: "/api/v0/sessions", cookie: true, host: "127.0.0.1:1"}, 403, ""},
		{"the API as localhost", req{method: "GET", path: "/api/v0/sessions", cookie: true, header: csrf, host: "localhost:" + strconv.Itoa(e.uiPort)}, 403, ""},
		{"the API with its own Origin", req{method: "GET", path: "/api/v0/sessions", cookie: true, header: map[string]string{"Origin": "http://" + host, "X-Clauderon-CSRF": sess.CSRF}}, 200, `"sessions"`},
		{"the API with a foreign Origin", req{method: "GET", path: "/api/v0/sessions", cookie: true, header: map[string]string{"Origin": "http://evil.example"}}, 403, ""},
		{"the API with Origin null", req{method: "GET", path: "/api/v0/sessions", cookie: true, header: map[string]string{"Origin": "null"}}, 403, ""},
		{"the API cross-site", req{method: "GET", path: "/api/v0/sessions", cookie: true, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, ""},
		{"a POST with the CSRF token", req{method: "POST", path: "/api/v0/sessions/nosuch-web/stop", cookie: true, header: csrf}, 404, `"error"`},
		{"a POST without the CSRF token", req{method: "POST", path: "/api/v0/sessions/nosuch-web/stop", cookie: true}, 403, "CSRF"},
		{"a POST with a wrong CSRF token", req{method: "POST", path: "/api/v0/sessions/nosuch-web/stop", cookie: true, header: map[string]string{"X-Clauderon-CSRF": sess.CSRF + "x"}}, 403, "CSRF"},
		{"a DELETE without the CSRF token", req{method: "DELETE", path: "/api/v0/tokens/anthropic", cookie: true}, 403, "CSRF"},
		{"attach and resize are not on the UI's API", req{method: "POST", path: "/api/v0/sessions/nosuch-web/resize", cookie: true, header: csrf, body: `{"rows":1,"cols":1}`}, 0, ""},
	} {
		code, h, body := do(c.r)
		switch {
		case c.want == 0:
			if code < 400 || code == http.StatusNotFound && strings.Contains(body, "no session") {
				t.Errorf("%s: %d %.200q, want a refusal of the route", c.what, code, body)
			}
		case code != c.want || !strings.Contains(body, c.in):
			t.Errorf("%s: %d %.200q, want %d with %q", c.what, code, body, c.want, c.in)
		case strings.HasPrefix(c.r.path, "/api/") && h.Get("Cache-Control") != "no-store":
			t.Errorf("%s: Cache-Control %q, want no-store", c.what, h.Get("Cache-Control"))
		}
	}

	// The page itself carries its CSP and the other headers.
	code, h, _ = do(req{method: "GET", path: "/", cookie: true})
	if code != 200 || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") ||
		!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("GET /: %d, headers %v", code, h)
	}

	// The WebSocket upgrade is checked the same way: a foreign Origin is
	// refused before any session is looked up, its own origin gets as far
	// as the session lookup (404 for none).
	ws := func(origin string, withCookie bool) int {
		t.Helper()
		hdr := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
			"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": origin,
			"Sec-WebSocket-Protocol": "clauderon, clauderon-csrf." + sess.CSRF}
		code, _, _ := do(req{method: "GET", path: "/ui/attach/nosuch-web", cookie: withCookie, header: hdr})
		return code
	}
	if code := ws("http://"+host, true); code != http.StatusNotFound {
		t.Errorf("a WebSocket from the UI's origin to no session: %d, want 404", code)
	}
	if code := ws("http://evil.example", true); code != http.StatusForbidden {
		t.Errorf("a WebSocket from a foreign origin: %d, want 403", code)
	}
	if code := ws("http://"+host, false); code != http.StatusUnauthorized {
		t.Errorf("a WebSocket without the cookie: %d, want 401", code)
	}

	// The listener is on loopback only: this host's other addresses refuse.
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ip, ok := a.(*net.IPNet)
		if !ok || ip.IP.IsLoopback() || ip.IP.IsLinkLocalUnicast() {
			continue
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip.IP.String(), strconv.Itoa(e.uiPort)), 2*time.Second)
		if err == nil {
			c.Close()
			t.Errorf("the UI answers on %s, not only on loopback", ip.IP)
		}
	}
}
