package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// internalVia sends one request line over a unix socket as user:pass and
// returns the status and body of the answer.
func internalVia(t *testing.T, sock, method, target, user, pass string) (int, string) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: Basic %s\r\nContent-Length: 2\r\n\r\n{}", method, target, InternalHost, basic(user, pass))
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestInternalHost: requests for the reserved name are served in process
// by the handler of the session that authenticated, never dialed and never
// asked of the egress policy; CONNECT to it is refused, as is a session
// the daemon gives no handler, and another session's credential never
// reaches this session's handler.
func TestInternalHost(t *testing.T) {
	var mu sync.Mutex
	var egressAsked []string
	type seen struct{ session, path, host, auth string }
	var served []seen
	h := newHarness(t, canaryOAuth, func(c *Config) {
		c.Egress = func(session, host string) error {
			mu.Lock()
			defer mu.Unlock()
			egressAsked = append(egressAsked, host)
			return fmt.Errorf("egress refuses %s", host)
		}
		c.Internal = func(session string) http.Handler {
			if session != "sess-a" {
				return nil
			}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				served = append(served, seen{session, r.URL.String(), r.Host, r.Header.Get("Proxy-Authorization")})
				mu.Unlock()
				fmt.Fprint(w, "served for ", session)
			})
		}
	})
	other, _ := NewSecret()
	if err := h.sessions.Set("sess-b", other); err != nil {
		t.Fatal(err)
	}
	sock := serveSession(t, h, h.name)
	for _, target := range []string{"http://clauderon.internal/mcp?x=1", "http://CLAUDERON.INTERNAL.:80/mcp?x=1"} {
		code, body := internalVia(t, sock, "POST", target, h.name, h.secret)
		if code != http.StatusOK || body != "served for sess-a" {
			t.Fatalf("POST %s: %d %q", target, code, body)
		}
	}
	mu.Lock()
	if len(served) != 2 || served[0] != (seen{"sess-a", "/mcp?x=1", InternalHost, ""}) {
		t.Errorf("the handler saw %+v; want the request as sess-a, relative, without the proxy credential", served)
	}
	mu.Unlock()

	for _, tc := range []struct {
		name, method, target string
		want                 int
	}{
		{"CONNECT", "CONNECT", "clauderon.internal:443", http.StatusBadRequest},
		{"CONNECT to port 80", "CONNECT", "Clauderon.Internal.:80", http.StatusBadRequest},
		{"https", "GET", "https://clauderon.internal/mcp", http.StatusBadRequest},
		{"another port", "GET", "http://clauderon.internal:8080/mcp", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := internalVia(t, sock, tc.method, tc.target, h.name, h.secret)
			if code != tc.want || !strings.Contains(body, InternalHost) {
				t.Errorf("%s %s: %d %q; want %d naming %s", tc.method, tc.target, code, body, tc.want, InternalHost)
			}
		})
	}
	// Another session's valid credential on this session's socket.
	if code, _ := internalVia(t, sock, "POST", "http://clauderon.internal/mcp", "sess-b", other); code != http.StatusProxyAuthRequired {
		t.Errorf("sess-b through sess-a's socket: %d, want 407", code)
	}
	// A session the daemon gives no handler, on its own socket.
	sockB := serveSession(t, h, "sess-b")
	if code, body := internalVia(t, sockB, "POST", "http://clauderon.internal/mcp", "sess-b", other); code != http.StatusForbidden || !strings.Contains(body, "--spawn") {
		t.Errorf("sess-b, which may not spawn: %d %q; want 403", code, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(served) != 2 {
		t.Errorf("the handler served %d requests; want 2 (sess-a's)", len(served))
	}
	if len(egressAsked) != 0 {
		t.Errorf("the egress policy was asked about %v; the reserved name never leaves", egressAsked)
	}
	h.stop()
	n := 0
	for _, l := range auditLines(t, h.home+"/"+AuditFile) {
		if l["host"] == "clauderon.internal:80" && l["session"] == "sess-a" && l["status"] == float64(200) {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d audit lines of sess-a's served requests; want 2", n)
	}
}

// TestInternalHostWithoutHandler: with no Config.Internal the name is
// refused, before any egress check or dial.
func TestInternalHostWithoutHandler(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	sock := serveSession(t, h, h.name)
	if code, _ := internalVia(t, sock, "GET", "http://clauderon.internal/mcp", h.name, h.secret); code != http.StatusForbidden {
		t.Errorf("no handler: %d, want 403", code)
	}
}
