package tunnel

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestReadHead(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		wantErr  error
		rest     string
	}{
		{"connect", "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\nearly bytes", nil, "early bytes"},
		{"bare newlines", "GET http://clauderon.internal/ HTTP/1.1\nHost: clauderon.internal\n\n", nil, ""},
		{"too large", "CONNECT a.example:443 HTTP/1.1\r\nX-Pad: " + strings.Repeat("a", MaxHeadBytes) + "\r\n\r\n", ErrHeadTooLarge, ""},
		{"cut short", "CONNECT a.example:443 HTTP/1.1\r\nHost: a", io.EOF, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tc.in), 4<<10)
			head, req, err := ReadHead(br, MaxHeadBytes)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("ReadHead: %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(br)
			if string(head)+string(rest) != tc.in || string(rest) != tc.rest || req.Host == "" {
				t.Errorf("head %q, rest %q, host %q", head, rest, req.Host)
			}
		})
	}
}

// gatewayPair is a Gateway with a Client connected to it over loopback.
func gatewayPair(t *testing.T, authorize func(*http.Request) Decision) (*Gateway, *Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := NewGateway(nil)
	gdone := make(chan error, 1)
	go func() { gdone <- g.Serve(ctx, ln) }()
	c, err := NewClient(ClientConfig{Intercepted: []string{"API.Anthropic.com."}, Authorize: authorize})
	if err != nil {
		t.Fatal(err)
	}
	cdone := make(chan error, 1)
	go func() {
		cdone <- c.Run(ctx, func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", ln.Addr().String())
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-cdone; err != nil {
			t.Errorf("Client.Run: %v", err)
		}
		if err := <-gdone; err != nil {
			t.Errorf("Gateway.Serve: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !g.Up(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the tunnel did not come up")
		}
	}
	return g, c
}

// TestHelloIntercepted: the gateway matches the hello's hosts as the
// proxy's rules do: any case, any port, with or without the trailing dot.
func TestHelloIntercepted(t *testing.T) {
	g, _ := gatewayPair(t, func(*http.Request) Decision { return Decision{} })
	for host, want := range map[string]bool{
		"api.anthropic.com:443": true, "API.ANTHROPIC.COM": true, "api.anthropic.com.:8443": true,
		"anthropic.com:443": false, "api.anthropic.com.evil.example:443": false,
	} {
		if got := g.Intercepted(host); got != want {
			t.Errorf("Intercepted(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestAuthorizeStream: the daemon answers an 'A' stream from its
// Authorize, and an oversized or malformed head without asking it.
func TestAuthorizeStream(t *testing.T) {
	asked := make(chan string, 4)
	g, _ := gatewayPair(t, func(r *http.Request) Decision {
		asked <- r.Host
		if r.Host == "ok.example:443" {
			return Decision{OK: true}
		}
		return Decision{Status: 403, Message: "egress refused for " + r.Host}
	})
	for _, tc := range []struct {
		name, head string
		want       Decision
		asks       bool
	}{
		{"allowed", "CONNECT ok.example:443 HTTP/1.1\r\nHost: ok.example:443\r\n\r\n", Decision{OK: true}, true},
		{"refused", "CONNECT no.example:443 HTTP/1.1\r\nHost: no.example:443\r\n\r\n", Decision{Status: 403, Message: "egress refused for no.example:443"}, true},
		{"too large", "CONNECT no.example:443 HTTP/1.1\r\nX-Pad: " + strings.Repeat("a", MaxHeadBytes) + "\r\n\r\n", Decision{Status: 431, Message: "request head too large"}, false},
		{"malformed", "NOT HTTP\r\n\r\n", Decision{Status: 400, Message: "malformed request head"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := g.Open(ModeAuthorize)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			go func() { _, _ = io.WriteString(st, tc.head) }()
			d, err := ReadDecision(st)
			if err != nil || d != tc.want {
				t.Errorf("decision %+v, %v; want %+v", d, err, tc.want)
			}
			select {
			case h := <-asked:
				if !tc.asks {
					t.Errorf("Authorize was asked about %s", h)
				}
			default:
				if tc.asks {
					t.Error("Authorize was not asked")
				}
			}
		})
	}
}

// TestProxyStreamsReachTheListener: a 'P' stream arrives on Listener
// without its mode byte, and an unknown mode is closed.
func TestProxyStreamsReachTheListener(t *testing.T) {
	g, c := gatewayPair(t, func(*http.Request) Decision { return Decision{} })
	bad, err := g.Open('X')
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(bad); err != nil {
		t.Errorf("an unknown mode's stream: %v", err)
	}
	bad.Close()
	st, err := g.Open(ModeProxy)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	go func() { _, _ = io.WriteString(st, "GET / HTTP/1.1\r\n\r\n") }()
	got, err := c.Listener().Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	b := make([]byte, 5)
	if _, err := io.ReadFull(got, b); err != nil || string(b) != "GET /" {
		t.Errorf("the listener's stream starts %q, %v", b, err)
	}
}

func TestNoTunnel(t *testing.T) {
	g := NewGateway(nil)
	if _, err := g.Open(ModeProxy); !errors.Is(err, ErrNoTunnel) {
		t.Errorf("Open with no tunnel: %v, want ErrNoTunnel", err)
	}
	if g.Intercepted("api.anthropic.com") {
		t.Error("a host is intercepted with no tunnel")
	}
}
