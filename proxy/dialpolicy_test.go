package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func TestDefaultDialPolicy(t *testing.T) {
	tests := []struct {
		host, ip string
		wantWhy  string // "" means allowed
	}{
		{"127.0.0.1", "127.0.0.1", "loopback"},
		{"localhost", "127.0.0.1", "loopback"},
		{"db.internal", "127.42.0.9", "loopback"},
		{"::1", "::1", "loopback"},
		{"mapped", "::ffff:127.0.0.1", "loopback"},
		{"0.0.0.0", "0.0.0.0", "unspecified"},
		{"zero", "0.1.2.3", "unspecified"},
		{"::", "::", "unspecified"},
		{"metadata.google.internal", "169.254.169.254", "link-local"},
		{"fe80::1", "fe80::1", "link-local"},
		{"github.com", "140.82.121.4", ""},
		{"gateway", "172.17.0.1", ""},
		{"lan", "192.168.1.10", ""},
		{"ten", "10.0.0.1", ""},
		{"v6", "2001:db8::1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.host+"="+tt.ip, func(t *testing.T) {
			err := DefaultDialPolicy(tt.host, netip.MustParseAddr(tt.ip))
			if tt.wantWhy == "" {
				if err != nil {
					t.Errorf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrDialDenied) {
				t.Fatalf("err %v, want ErrDialDenied", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.host) || !strings.Contains(msg, tt.wantWhy) {
				t.Errorf("message %q should name %s and say %s", msg, tt.host, tt.wantWhy)
			}
		})
	}
}

// loopbackServer is a TCP service on 127.0.0.1 that numbers the
// connections it accepts. A connection that starts with "marker" reports
// its number; any other is answered "reached" over HTTP and closed, so a
// request that got through fails at once instead of hanging.
type loopbackServer struct {
	ln      net.Listener
	markers chan int

	mu    sync.Mutex
	conns []net.Conn
}

func newLoopbackServer(t *testing.T) *loopbackServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &loopbackServer{ln: ln, markers: make(chan int, 16)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			wg.Go(func() { s.serve(c, i) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	return s
}

func (s *loopbackServer) serve(c net.Conn, i int) {
	defer c.Close()
	b := make([]byte, len("marker"))
	if _, err := io.ReadFull(c, b); err != nil {
		return
	}
	if string(b) == "marker" {
		s.markers <- i
		return
	}
	io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\nreached")
}

func (s *loopbackServer) port() string {
	_, port, _ := net.SplitHostPort(s.ln.Addr().String())
	return port
}

// assertUntouched connects to s itself and checks that this is the first
// connection s ever accepted: the proxy never reached it.
func (s *loopbackServer) assertUntouched(t *testing.T) {
	t.Helper()
	c, err := net.Dial("tcp", s.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "marker"); err != nil {
		t.Fatal(err)
	}
	if i := <-s.markers; i != 0 {
		t.Fatalf("the loopback service was reached through the proxy: %d connections came before the test's own", i)
	}
}

func TestBlindTunnelToLoopbackRefused(t *testing.T) {
	h := newHarness(t, canaryOAuth) // the default dial policy
	srv := newLoopbackServer(t)
	targets := []string{"127.0.0.1:" + srv.port(), "localhost:" + srv.port(), "[::ffff:127.0.0.1]:" + srv.port()}
	for _, target := range targets {
		status, body := connectRaw(t, h, target)
		if status != http.StatusForbidden {
			t.Fatalf("CONNECT %s: status %d (%s), want 403", target, status, body)
		}
		kind, msg := errorMessage(t, []byte(body))
		host, _, _ := net.SplitHostPort(target)
		if kind != "permission_error" || !strings.Contains(msg, host) || !strings.Contains(msg, "loopback") {
			t.Errorf("CONNECT %s: error %s %q, want a permission_error naming the host and why", target, kind, msg)
		}
		if strings.HasPrefix(msg, "dial") {
			t.Errorf("message %q leaks the dialer's wording", msg)
		}
	}
	srv.assertUntouched(t)

	// The rule upstream, on 127.0.0.1 too, is the user's choice and still works.
	resp, body := do(t, h.defaultClient(), newRequest(t, "GET", "https://api.anthropic.com/echo/x", nil, nil))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("intercepted request under the default policy: %d %s", resp.StatusCode, body)
	}

	h.stop()
	refused := map[string]bool{}
	for _, l := range auditLines(t, h.audit.Path()) {
		if l["method"] == "CONNECT" && l["status"] == float64(http.StatusForbidden) {
			if msg, _ := l["error"].(string); strings.Contains(msg, "loopback") && l["session"] == h.name {
				refused[l["host"].(string)] = true
			}
		}
	}
	for _, target := range []string{"127.0.0.1:" + srv.port(), "localhost:" + srv.port()} {
		if !refused[target] {
			t.Errorf("no audit line for the refused CONNECT %s (have %v)", target, refused)
		}
	}
}

func TestPlainHTTPToLoopbackRefused(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	srv := newLoopbackServer(t)
	for _, host := range []string{"127.0.0.1", "localhost"} {
		u := "http://" + net.JoinHostPort(host, srv.port()) + "/admin"
		resp, body := do(t, h.defaultClient(), newRequest(t, "GET", u, nil, nil))
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("GET %s: %d %s, want 403", u, resp.StatusCode, body)
		}
		if _, msg := errorMessage(t, body); !strings.Contains(msg, host) || !strings.Contains(msg, "loopback") {
			t.Errorf("GET %s: message %q should name the host and why", u, msg)
		}
	}
	srv.assertUntouched(t)
}

func TestCustomDialPolicy(t *testing.T) {
	type call struct {
		host string
		ip   netip.Addr
	}
	var mu sync.Mutex
	var calls []call
	srv := newLoopbackServer(t)
	h := newHarness(t, canaryOAuth, func(c *Config) {
		c.AllowDial = func(host string, ip netip.Addr) error {
			mu.Lock()
			calls = append(calls, call{host, ip})
			mu.Unlock()
			if host == "localhost" {
				return fmt.Errorf("%w: no names for %s", ErrDialDenied, ip)
			}
			return nil
		}
	})
	status, body := connectRaw(t, h, "localhost:"+srv.port())
	if status != http.StatusForbidden || !strings.Contains(body, "no names for") {
		t.Errorf("CONNECT localhost: %d %s, want the policy's 403", status, body)
	}
	// The policy allows the literal address, so the tunnel opens.
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	target := "127.0.0.1:" + srv.port()
	io.WriteString(conn, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: Basic "+basic(h.name, h.secret)+"\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: %v %v, want 200", target, resp, err)
	}
	io.WriteString(conn, "marker")
	if i := <-srv.markers; i != 0 {
		t.Errorf("the tunnel was connection %d, want the first", i)
	}

	mu.Lock()
	defer mu.Unlock()
	var sawName, sawIP bool
	for _, c := range calls {
		if !c.ip.IsLoopback() {
			t.Errorf("policy asked about %v for %s, want the resolved loopback address", c.ip, c.host)
		}
		sawName = sawName || c.host == "localhost"
		sawIP = sawIP || c.host == "127.0.0.1"
	}
	if !sawName || !sawIP {
		t.Errorf("policy calls %v, want one for localhost and one for 127.0.0.1", calls)
	}
	if len(h.src.names) != 0 {
		t.Errorf("credential source asked during tunnels: %v", h.src.names)
	}
}
