package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/tunnel"
)

// canary stands for a session's proxy secret: it must reach the daemon's
// side and never the gateway's log.
const canary = "sk-ant-oat01-CANARY-gateway-7c1e9a3f5b2d"

var proxyAuth = "Proxy-Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("sess-a:"+canary)) + "\r\n"

// cluster is a cluster gateway with its tunnel listener, and the logs it
// wrote, which the cleanup checks for the canary.
type cluster struct {
	t        *testing.T
	gw       *tunnel.Gateway
	tunAddr  string
	podAddr  string
	logs     *syncbuf.Buffer
	stopTun  context.CancelFunc
	tunDone  chan error
	logger   *slog.Logger
	ctx      context.Context
	tunnelLn net.Listener
}

func startCluster(t *testing.T, dialer *PolicyDialer) *cluster {
	t.Helper()
	c := &cluster{t: t, logs: &syncbuf.Buffer{}}
	c.logger = slog.New(slog.NewJSONHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	c.ctx = ctx
	c.gw = tunnel.NewGateway(c.logger)
	c.startTunnelListener("127.0.0.1:0")
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.podAddr = pln.Addr().String()
	podDone := make(chan error, 1)
	go func() { podDone <- (&Cluster{Tunnel: c.gw, Logger: c.logger, Dialer: dialer}).Serve(ctx, pln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-podDone; err != nil {
			t.Errorf("Cluster.Serve: %v", err)
		}
		c.stopTunnelListener()
		if logs := c.logs.String(); strings.Contains(logs, canary) || strings.Contains(logs, "Proxy-Authorization") ||
			strings.Contains(logs, base64.StdEncoding.EncodeToString([]byte("sess-a:"+canary))) {
			t.Errorf("the gateway's log holds the credential:\n%s", logs)
		}
	})
	return c
}

func (c *cluster) startTunnelListener(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		c.t.Fatal(err)
	}
	c.tunnelLn = ln
	c.tunAddr = ln.Addr().String()
	ctx, cancel := context.WithCancel(c.ctx)
	c.stopTun, c.tunDone = cancel, make(chan error, 1)
	go func() { c.tunDone <- c.gw.Serve(ctx, ln) }()
}

func (c *cluster) stopTunnelListener() {
	if c.stopTun == nil {
		return
	}
	c.stopTun()
	if err := <-c.tunDone; err != nil {
		c.t.Errorf("Gateway.Serve: %v", err)
	}
	c.stopTun = nil
}

// daemon is a tunnel.Client with a fake proxy on its listener, which
// records what each stream carried and answers with reply(got).
type daemon struct {
	client *tunnel.Client
	got    chan []byte
	heads  chan *http.Request
}

func startDaemon(t *testing.T, addr string, decide func(*http.Request) tunnel.Decision, dial func(context.Context) (net.Conn, error)) *daemon {
	t.Helper()
	d := &daemon{got: make(chan []byte, 8), heads: make(chan *http.Request, 8)}
	var err error
	d.client, err = tunnel.NewClient(tunnel.ClientConfig{
		Intercepted: []string{"api.anthropic.com"},
		Authorize: func(r *http.Request) tunnel.Decision {
			d.heads <- r
			return decide(r)
		},
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if dial == nil {
		dial = func(ctx context.Context) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, "tcp", addr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.client.Run(ctx, dial) }()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := d.client.Listener().Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				b, _ := io.ReadAll(conn)
				d.got <- b
				_, _ = conn.Write(reply(b))
			}()
		}
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Client.Run: %v", err)
		}
		d.client.Listener().Close()
		wg.Wait()
	})
	return d
}

// reply is what the fake proxy answers to the bytes it got: all of them,
// reversed, after a line, so a byte lost or reordered either way shows.
func reply(b []byte) []byte {
	r := make([]byte, len(b))
	for i := range b {
		r[len(b)-1-i] = b[i]
	}
	return append([]byte("fake-proxy\n"), r...)
}

// waitFor polls cond until it holds or the test's time runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recv waits for what ch delivers, failing the test if nothing comes.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for the fake daemon")
		var zero T
		return zero
	}
}

func allowAll(netip.Addr) error { return nil }

func okDecision(*http.Request) tunnel.Decision { return tunnel.Decision{OK: true} }

func dialPod(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	return c.(*net.TCPConn)
}

// TestProxyStreamCarriesBytesExactly: a CONNECT to an intercepted host
// reaches the daemon's proxy as it was sent, head and all, and what the
// proxy answers reaches the pod, each side half-closing.
func TestProxyStreamCarriesBytesExactly(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	d := startDaemon(t, c.tunAddr, okDecision, nil)
	waitFor(t, "the tunnel is up", c.gw.Up)

	payload := bytes.Repeat([]byte("\x16\x03\x01tls-ish\x00\xff"), 20000)
	sent := append([]byte("CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n"+proxyAuth+"\r\n"), payload...)
	pod := dialPod(t, c.podAddr)
	go func() {
		_, _ = pod.Write(sent)
		_ = pod.CloseWrite()
	}()
	got, err := io.ReadAll(pod)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, reply(sent)) {
		t.Errorf("the pod got %d bytes, want the fake proxy's %d", len(got), len(reply(sent)))
	}
	if b := recv(t, d.got); !bytes.Equal(b, sent) {
		t.Errorf("the proxy got %d bytes, want the %d sent", len(b), len(sent))
	}
}

// TestPlainRequestGoesToTheProxy: a request that is not a CONNECT (the
// hook's http://clauderon.internal/) goes whole to the daemon's proxy.
func TestPlainRequestGoesToTheProxy(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	d := startDaemon(t, c.tunAddr, okDecision, nil)
	waitFor(t, "the tunnel is up", c.gw.Up)
	sent := []byte("POST http://clauderon.internal/hook HTTP/1.1\r\nHost: clauderon.internal\r\n" + proxyAuth + "Content-Length: 2\r\n\r\n{}")
	pod := dialPod(t, c.podAddr)
	_, _ = pod.Write(sent)
	_ = pod.CloseWrite()
	if _, err := io.ReadAll(pod); err != nil {
		t.Fatal(err)
	}
	if b := recv(t, d.got); !bytes.Equal(b, sent) {
		t.Errorf("the proxy got %q, want %q", b, sent)
	}
}

// echoServer accepts connections and echoes them; it counts accepts.
func echoServer(t *testing.T) (addr string, accepted <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- struct{}{}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String(), ch
}

func connect(t *testing.T, podAddr, target string) (*net.TCPConn, *bufio.Reader, *http.Response) {
	t.Helper()
	pod := dialPod(t, podAddr)
	if _, err := io.WriteString(pod, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\n"+proxyAuth+"\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(pod)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil {
		t.Fatal(err)
	}
	return pod, br, resp
}

// TestAuthorizedBlindTunnel: the daemon says yes, the gateway dials the
// target itself and splices; the daemon saw the pod's credential, the
// tunnel's bytes did not cross to it.
func TestAuthorizedBlindTunnel(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	d := startDaemon(t, c.tunAddr, okDecision, nil)
	waitFor(t, "the tunnel is up", c.gw.Up)
	target, _ := echoServer(t)
	pod, br, resp := connect(t, c.podAddr, target)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: %s, want 200", target, resp.Status)
	}
	if _, err := io.WriteString(pod, "ping through the gateway"); err != nil {
		t.Fatal(err)
	}
	_ = pod.CloseWrite()
	got, _ := io.ReadAll(br)
	if string(got) != "ping through the gateway" {
		t.Errorf("echo through the blind tunnel: %q", got)
	}
	h := recv(t, d.heads)
	if h.Host != target || !strings.Contains(h.Header.Get("Proxy-Authorization"), "Basic ") {
		t.Errorf("the daemon was asked about %q with Proxy-Authorization %q", h.Host, h.Header.Get("Proxy-Authorization"))
	}
	select {
	case b := <-d.got:
		t.Errorf("a blind tunnel's bytes reached the daemon's proxy: %q", b)
	default:
	}
}

// TestDefaultDialPolicyRefusesLoopback: with the gateway's own policy, an
// authorized CONNECT to the pod's loopback (the gateway's tunnel port!)
// is refused without a dial.
func TestDefaultDialPolicyRefusesLoopback(t *testing.T) {
	c := startCluster(t, nil)
	startDaemon(t, c.tunAddr, okDecision, nil)
	waitFor(t, "the tunnel is up", c.gw.Up)
	target, accepted := echoServer(t)
	_, br, resp := connect(t, c.podAddr, target)
	body, _ := io.ReadAll(br)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "not a public address") {
		t.Errorf("CONNECT %s: %s %q, want 403 naming the policy", target, resp.Status, body)
	}
	select {
	case <-accepted:
		t.Error("the gateway connected to a loopback address")
	default:
	}
}

func TestPublicOnly(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		deny bool
	}{
		{"127.0.0.1", true}, {"10.1.2.3", true}, {"172.20.0.1", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"100.64.0.1", true}, {"192.0.2.7", true}, {"0.0.0.0", true},
		{"224.0.0.1", true}, {"::1", true}, {"::", true}, {"fd00::1", true}, {"fe80::1", true},
		{"::ffff:10.0.0.1", true}, {"ff02::1", true},
		{"fe80::1%eth0", true}, {"::1%lo", true}, {"fc00::1%eth0", true}, {"240.1.2.3", true}, {"255.255.255.255", true}, {"198.18.0.1", true},
		{"::a00:1", true}, {"::ffff:0:a00:1", true}, {"64:ff9b:1:a00:0:100:808:808", true}, {"198.51.100.1", true}, {"203.0.113.9", true},
		{"192.0.0.8", true}, {"192.88.99.1", true}, {"2001:db8::1", true}, {"100::1", true}, {"2001:0:4136:e378:8000:63bf:3fff:fdd2", true},
		{"64:ff9b::a00:1", true}, {"64:ff9b::7f00:1", true}, {"2002:c0a8:101::1", true}, {"64:ff9b::101:101", false}, {"2002:101:101::1", false},
		{"1.1.1.1", false}, {"160.79.104.10", false}, {"2606:4700::1111", false}, {"100.128.0.1", false},
	} {
		err := PublicOnly(netip.MustParseAddr(tc.ip))
		if (err != nil) != tc.deny || (err != nil && !errors.Is(err, ErrDialDenied)) {
			t.Errorf("PublicOnly(%s) = %v, want denied %v", tc.ip, err, tc.deny)
		}
	}
}

// TestRefusedBlindTunnel: the daemon's status and message reach the pod.
func TestRefusedBlindTunnel(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	startDaemon(t, c.tunAddr, func(*http.Request) tunnel.Decision {
		return tunnel.Decision{Status: http.StatusForbidden, Message: "egress refused: example.org is not in this session's allow list"}
	}, nil)
	waitFor(t, "the tunnel is up", c.gw.Up)
	target, accepted := echoServer(t)
	_, br, resp := connect(t, c.podAddr, target)
	body, _ := io.ReadAll(br)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "not in this session's allow list") {
		t.Errorf("refused CONNECT: %s %q", resp.Status, body)
	}
	select {
	case <-accepted:
		t.Error("the gateway dialled a refused target")
	default:
	}
}

// TestNoTunnel503: with no daemon, the pod is told what to do.
func TestNoTunnel503(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	_, br, resp := connect(t, c.podAddr, "api.anthropic.com:443")
	body, _ := io.ReadAll(br)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "clauderon doctor") {
		t.Errorf("no tunnel: %s %q, want 503 naming clauderon doctor", resp.Status, body)
	}
}

// TestHeadTooLarge: a head over the budget is refused before anything
// reaches the daemon.
func TestHeadTooLarge(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	d := startDaemon(t, c.tunAddr, okDecision, nil)
	waitFor(t, "the tunnel is up", c.gw.Up)
	pod := dialPod(t, c.podAddr)
	go func() {
		_, _ = io.WriteString(pod, "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n"+proxyAuth+"X-Pad: "+strings.Repeat("a", tunnel.MaxHeadBytes)+"\r\n\r\n")
	}()
	resp, err := http.ReadResponse(bufio.NewReader(pod), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a %d-byte head: %s, want 431", tunnel.MaxHeadBytes, resp.Status)
	}
	select {
	case h := <-d.heads:
		t.Errorf("the daemon was asked about an oversized head for %s", h.Host)
	case b := <-d.got:
		t.Errorf("the proxy got %d bytes of an oversized head", len(b))
	default:
	}
}

// TestNewerTunnelReplacesOlder: the daemon that dialled last gets the
// streams, and the older tunnel is closed.
func TestNewerTunnelReplacesOlder(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	var dials sync.Mutex
	n := 0
	// The first daemon dials once only, so it cannot take the tunnel back.
	first := startDaemon(t, c.tunAddr, okDecision, func(ctx context.Context) (net.Conn, error) {
		dials.Lock()
		defer dials.Unlock()
		if n++; n > 1 {
			return nil, errors.New("this daemon has gone")
		}
		var nd net.Dialer
		return nd.DialContext(ctx, "tcp", c.tunAddr)
	})
	waitFor(t, "the first tunnel is up", func() bool { return first.client.State().Up && c.gw.Up() })
	second := startDaemon(t, c.tunAddr, okDecision, nil)
	waitFor(t, "the first tunnel is replaced", func() bool {
		s := first.client.State()
		return !s.Up && s.Connects == 1 && second.client.State().Up
	})
	sent := []byte("GET http://clauderon.internal/ HTTP/1.1\r\nHost: clauderon.internal\r\n\r\n")
	pod := dialPod(t, c.podAddr)
	_, _ = pod.Write(sent)
	_ = pod.CloseWrite()
	_, _ = io.ReadAll(pod)
	select {
	case b := <-second.got:
		if !bytes.Equal(b, sent) {
			t.Errorf("the newer tunnel carried %q", b)
		}
	case b := <-first.got:
		t.Errorf("the replaced tunnel carried %q", b)
	case <-time.After(10 * time.Second):
		t.Error("the request reached neither daemon")
	}
}

// TestClientReconnects: after the gateway's tunnel listener goes away and
// comes back on the same address, the daemon's client is up again.
func TestClientReconnects(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	d := startDaemon(t, c.tunAddr, okDecision, nil)
	waitFor(t, "the tunnel is up", func() bool { return d.client.State().Up && c.gw.Up() })
	addr := c.tunAddr
	c.stopTunnelListener()
	waitFor(t, "the client sees the tunnel down", func() bool {
		s := d.client.State()
		return !s.Up && s.LastError != ""
	})
	c.startTunnelListener(addr)
	waitFor(t, "the client is up again", func() bool {
		s := d.client.State()
		return s.Up && s.Connects == 2 && c.gw.Up()
	})
	sent := []byte("GET http://clauderon.internal/ HTTP/1.1\r\nHost: clauderon.internal\r\n\r\n")
	pod := dialPod(t, c.podAddr)
	_, _ = pod.Write(sent)
	_ = pod.CloseWrite()
	if got, _ := io.ReadAll(pod); !bytes.Equal(got, reply(sent)) {
		t.Errorf("after reconnecting, the pod got %q", got)
	}
}

// TestRevokedBlindTunnelIsCut: when the daemon says a tunnel's session is
// revoked, the gateway closes the tunnel it opened.
func TestRevokedBlindTunnelIsCut(t *testing.T) {
	c := startCluster(t, PublicDialer(allowAll))
	revoked := make(chan struct{})
	startDaemon(t, c.tunAddr, func(*http.Request) tunnel.Decision { return tunnel.Decision{OK: true, Done: revoked} }, nil)
	waitFor(t, "the tunnel is up", c.gw.Up)
	target, _ := echoServer(t)
	pod, br, resp := connect(t, c.podAddr, target)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: %s", target, resp.Status)
	}
	buf := make([]byte, 4)
	if _, err := io.WriteString(pod, "ping"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(br, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("before the revocation: %q, %v", buf, err)
	}
	close(revoked)
	// The pod's deadline is 20 s; the cut must come first.
	if n, err := br.Read(buf); err == nil {
		t.Errorf("after the revocation the tunnel still carries %q", buf[:n])
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("the revoked tunnel was not cut")
	}
}

// TestMaxConns: a connection past the bound is answered 503 at once,
// while the ones within it are still being served.
func TestMaxConns(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Cluster{Tunnel: tunnel.NewGateway(nil), MaxConns: 1}).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	// The first connection holds the one slot: it sends half a head.
	first := dialPod(t, ln.Addr().String())
	if _, err := io.WriteString(first, "CONNECT a.example:443 HTTP/1.1\r\n"); err != nil {
		t.Fatal(err)
	}
	second := dialPod(t, ln.Addr().String())
	resp, err := http.ReadResponse(bufio.NewReader(second), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "too many connections") {
		t.Errorf("past the bound: %s %q %v", resp.Status, body, err)
	}
	// The first is still served: with no tunnel, it gets the 503 that says so.
	_, _ = io.WriteString(first, "\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(first), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	if !strings.Contains(string(body), "clauderon doctor") {
		t.Errorf("the connection within the bound: %s %q", resp.Status, body)
	}
}

// TestMaxPerPod: one pod (source address) past its bound is answered 503,
// while another pod is still served.
func TestMaxPerPod(t *testing.T) {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- (&Cluster{Tunnel: tunnel.NewGateway(nil), MaxPerPod: 2}).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	hold := func(src string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	answerOf := func(c net.Conn) string {
		io.WriteString(c, "CONNECT a.example:443 HTTP/1.1\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	a1, a2 := hold("127.0.0.2"), hold("127.0.0.2")
	io.WriteString(a1, "CONNECT a.example:443 HTTP/1.1\r\n")
	io.WriteString(a2, "CONNECT a.example:443 HTTP/1.1\r\n")
	// The third of the same pod waits for nothing: it is refused at once.
	if got := answerOf(hold("127.0.0.2")); !strings.Contains(got, "too many connections") {
		t.Errorf("a pod past its bound: %q", got)
	}
	// Another pod is served (no tunnel: the 503 that says so).
	if got := answerOf(hold("127.0.0.3")); !strings.Contains(got, "clauderon doctor") {
		t.Errorf("another pod while the first is at its bound: %q", got)
	}
}
