package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// closeWait bounds how long a test waits for the proxy to close a
// connection it should close at once; reaching it fails the test.
const closeWait = 20 * time.Second

// openTunnel sends CONNECT target as name:secret on a fresh connection and
// returns it once the proxy answered 200.
func openTunnel(t *testing.T, h *harness, name, secret, target string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\nProxy-Authorization: Basic " + basic(name, secret) + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: %s", target, resp.Status)
	}
	return conn, br
}

// interceptedConn opens a tunnel to api.anthropic.com and completes TLS
// with the proxy's leaf.
func interceptedConn(t *testing.T, h *harness) (*tls.Conn, *bufio.Reader) {
	t.Helper()
	raw, br := openTunnel(t, h, h.name, h.secret, "api.anthropic.com:443")
	if br.Buffered() > 0 {
		t.Fatal("proxy sent bytes after its CONNECT answer")
	}
	pool := x509.NewCertPool()
	pool.AddCert(h.ca.Certificate())
	tc := tls.Client(raw, &tls.Config{RootCAs: pool, ServerName: "api.anthropic.com"})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	return tc, bufio.NewReader(tc)
}

// assertClosed reads from r (over conn) until it fails, and fails the test
// if that took until the deadline: the proxy kept the connection open.
func assertClosed(t *testing.T, conn net.Conn, r io.Reader, what string) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(closeWait))
	_, err := io.Copy(io.Discard, r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s still open %v after the session was removed", what, closeWait)
	}
}

// echoServer accepts TCP connections on loopback and echoes each one.
func echoServer(t *testing.T) (addr string, closed <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 16)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				io.Copy(c, c)
				c.Close()
				done <- struct{}{}
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String(), done
}

func TestRemoveClosesBlindTunnel(t *testing.T) {
	for _, how := range []string{"remove", "new secret"} {
		t.Run(how, func(t *testing.T) {
			h := newHarness(t, canaryOAuth, allowLoopback)
			addr, upClosed := echoServer(t)
			conn, br := openTunnel(t, h, h.name, h.secret, addr)
			io.WriteString(conn, "ping\n")
			if line, err := br.ReadString('\n'); err != nil || line != "ping\n" {
				t.Fatalf("through the tunnel: %q, %v", line, err)
			}
			// Setting the same secret again is not a revocation.
			if err := h.sessions.Set(h.name, h.secret); err != nil {
				t.Fatal(err)
			}
			io.WriteString(conn, "pong\n")
			if line, err := br.ReadString('\n'); err != nil || line != "pong\n" {
				t.Fatalf("after Set with the same secret: %q, %v", line, err)
			}

			if how == "remove" {
				h.sessions.Remove(h.name)
			} else if err := h.sessions.Set(h.name, "another-secret"); err != nil {
				t.Fatal(err)
			}
			assertClosed(t, conn, br, "blind tunnel")
			select {
			case <-upClosed:
			case <-time.After(closeWait):
				t.Fatal("the upstream side of the tunnel is still open")
			}
			h.stop()
			var line map[string]any
			for _, l := range auditLines(t, h.audit.Path()) {
				if l["method"] == "CONNECT" && l["host"] == addr {
					line = l
				}
			}
			if line == nil {
				t.Fatal("no audit line for the cut tunnel")
			}
			if msg, _ := line["error"].(string); !strings.Contains(msg, "session was removed") {
				t.Errorf("audit line error %q, want it to say the session was revoked", line["error"])
			}
			if line["bytes_in"] != float64(len("ping\npong\n")) || line["bytes_out"] != float64(len("ping\npong\n")) {
				t.Errorf("audit line bytes in %v out %v", line["bytes_in"], line["bytes_out"])
			}
		})
	}
}

func TestRemoveClosesInterceptedConnection(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	tc, br := interceptedConn(t, h)
	io.WriteString(tc, "GET /echo/1 HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("before removal: %s", resp.Status)
	}
	// The connection is idle and kept alive; removal must close it.
	h.sessions.Remove(h.name)
	assertClosed(t, tc, br, "intercepted keep-alive connection")
	h.stop()
	for _, l := range auditLines(t, h.audit.Path()) {
		if l["method"] == "CONNECT" {
			if msg, _ := l["error"].(string); !strings.Contains(msg, "session was removed") {
				t.Errorf("tunnel audit line error %q, want it to say the session was revoked", l["error"])
			}
			return
		}
	}
	t.Error("no audit line for the intercepted tunnel")
}

func TestRemoveCutsStreamInFlight(t *testing.T) {
	h := newHarness(t, canaryOAuth)
	gate := make(chan struct{})
	h.fake.EventGate = gate
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	tc, br := interceptedConn(t, h)
	body := `{"model":"m","stream":true,"max_tokens":5,"messages":[]}`
	io.WriteString(tc, "POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\nContent-Type: application/json\r\nContent-Length: "+
		strconv.Itoa(len(body))+"\r\n\r\n"+body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	if ev, err := readEvent(r); err != nil || ev != "message_start" {
		t.Fatalf("first event %q: %v", ev, err)
	}
	// The fake now holds the stream open, waiting for the gate.
	h.sessions.Remove(h.name)
	assertClosed(t, tc, r, "event stream")
	release()
	h.stop()
	if n := len(h.fake.MessageRequests()); n != 1 {
		t.Errorf("upstream saw %d message requests, want 1", n)
	}
}

func TestRemoveCutsPlainRequestInFlight(t *testing.T) {
	h := newHarness(t, canaryOAuth, allowLoopback)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a long poll that only the proxy can end
	}))
	defer up.Close()
	conn, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET "+up.URL+"/poll HTTP/1.1\r\nHost: "+up.Listener.Addr().String()+
		"\r\nProxy-Authorization: Basic "+basic(h.name, h.secret)+"\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || line != "first\n" {
		t.Fatalf("first line %q: %v", line, err)
	}
	h.sessions.Remove(h.name)
	assertClosed(t, conn, r, "plain-http request")
}

func TestSessionsRevocation(t *testing.T) {
	s := NewSessions()
	if _, ok := s.AuthorizeRevocable("a", "x"); ok {
		t.Fatal("unknown session authorized")
	}
	if err := s.Set("a", "x"); err != nil {
		t.Fatal(err)
	}
	ctx, ok := s.AuthorizeRevocable("a", "x")
	if !ok || ctx.Err() != nil {
		t.Fatalf("AuthorizeRevocable = %v, %v", ctx, ok)
	}
	if _, ok := s.AuthorizeRevocable("a", "y"); ok {
		t.Fatal("wrong secret authorized")
	}
	s.Set("a", "x")
	if ctx.Err() != nil {
		t.Fatal("setting the same secret revoked it")
	}
	s.Set("a", "y")
	if !errors.Is(context.Cause(ctx), ErrProxyAuth) {
		t.Fatalf("after a new secret: cause %v, want ErrProxyAuth", context.Cause(ctx))
	}
	ctx2, ok := s.AuthorizeRevocable("a", "y")
	if !ok || ctx2.Err() != nil {
		t.Fatal("new secret not authorized")
	}
	s.Remove("a")
	if ctx2.Err() == nil {
		t.Fatal("Remove did not revoke")
	}
	s.Remove("a") // twice is fine
}
