package daemon

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/tunnel"
)

const k8sCanary = "sk-ant-oat01-CANARY-k8stunnel-4e8b2d6a9c13"

// TestK8sTunnelCarriesAPIAndBlindTunnels: a pod's request to the
// Anthropic API through the cluster gateway reaches the real proxy over
// the tunnel and gets the credential injected; a blind CONNECT is
// authorized by the proxy, opened by the gateway, and audited.
func TestK8sTunnelCarriesAPIAndBlindTunnels(t *testing.T) {
	home := t.TempDir()
	fake, err := fakeanthropic.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	ca, err := proxy.LoadOrCreateCA(home)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := proxy.DefaultRules().WithUpstreams(map[string]config.Upstream{proxy.AnthropicHost: {Address: fake.Addr, CAFile: fake.CAFile}})
	if err != nil {
		t.Fatal(err)
	}
	audit, err := proxy.OpenAudit(filepath.Join(home, proxy.AuditFile), 0)
	if err != nil {
		t.Fatal(err)
	}
	sessions := proxy.NewSessions()
	sec, _ := proxy.NewSecret()
	if err := sessions.Set("sess-k", sec); err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(proxy.Config{
		CA: ca, Rules: rules, Auth: sessions, Audit: audit,
		// The tunnel serves only the cluster's sessions.
		Class: func(name string) string {
			if name == "sess-k" {
				return api.BackendKubernetes
			}
			return ""
		},
		Credentials: secret.Env{Getenv: func(k string) string {
			if k == "CLAUDE_CODE_OAUTH_TOKEN" {
				return k8sCanary
			}
			return ""
		}},
	})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	tln, _ := net.Listen("tcp", "127.0.0.1:0")
	pln, _ := net.Listen("tcp", "127.0.0.1:0")
	gw := tunnel.NewGateway(nil)
	go func() { _ = gw.Serve(ctx, tln) }()
	go func() {
		_ = (&gateway.Cluster{Tunnel: gw, Dialer: gateway.PublicDialer(func(netip.Addr) error { return nil })}).Serve(ctx, pln)
	}()
	kt, err := NewK8sTunnel(func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", tln.Addr().String())
	}, p, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- kt.Run(ctx) }()
	// stop ends everything and waits until every audit line is written.
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("K8sTunnel.Run: %v", err)
		}
		audit.Close()
	})
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for !(kt.State().Up && gw.Up()) {
		if time.Now().After(deadline) {
			t.Fatalf("the tunnel did not come up: %+v", kt.State())
		}
		time.Sleep(2 * time.Millisecond)
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	proxyURL := &url.URL{Scheme: "http", Host: pln.Addr().String(), User: url.UserPassword("sess-k", sec)}
	tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Post("https://"+proxy.AnthropicHost+"/v1/messages", "application/json",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("through the gateway: %s %s", resp.Status, body)
	}
	reqs := fake.MessageRequests()
	if len(reqs) != 1 || reqs[0].Authorization != "Bearer "+k8sCanary {
		t.Errorf("the fake upstream got %d requests, Authorization %q; want the injected canary", len(reqs), func() string {
			if len(reqs) > 0 {
				return reqs[0].Authorization
			}
			return ""
		}())
	}

	// A blind tunnel to a plain server: allowed by the proxy, dialled by
	// the gateway.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "blind ok") }))
	defer srv.Close()
	target := strings.TrimPrefix(srv.URL, "http://")
	conn, err := net.Dial("tcp", pln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	auth := "Basic " + basicAuth("sess-k", sec)
	io.WriteString(conn, "CONNECT "+target+" HTTP/1.1\r\nHost: "+target+"\r\nProxy-Authorization: "+auth+"\r\n\r\nGET / HTTP/1.1\r\nHost: "+target+"\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(conn)
	cr, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
	if err != nil || cr.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: %v %v", target, cr, err)
	}
	inner, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(inner.Body)
	if string(b) != "blind ok" {
		t.Errorf("through the blind tunnel: %q", b)
	}

	// A removed session's open blind tunnel is cut, as the proxy cuts its own.
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	open, err := net.Dial("tcp", pln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	_ = open.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(open, "CONNECT "+echo.Addr().String()+" HTTP/1.1\r\nHost: "+echo.Addr().String()+"\r\nProxy-Authorization: "+auth+"\r\n\r\nping")
	obr := bufio.NewReader(open)
	if cr, err := http.ReadResponse(obr, &http.Request{Method: http.MethodConnect}); err != nil || cr.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT %s: %v %v", echo.Addr(), cr, err)
	}
	ping := make([]byte, 4)
	if _, err := io.ReadFull(obr, ping); err != nil || string(ping) != "ping" {
		t.Fatalf("the echo through the blind tunnel: %q %v", ping, err)
	}
	sessions.Remove("sess-k")
	if _, err := obr.Read(ping); err == nil {
		t.Error("a removed session's blind tunnel still carries bytes")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("a removed session's blind tunnel was not cut")
	}

	stop()
	log, _ := os.ReadFile(filepath.Join(home, proxy.AuditFile))
	for _, want := range []string{`"host":"api.anthropic.com:443"`, `"host":"` + target + `"`} {
		if !strings.Contains(string(log), want) || !strings.Contains(string(log), `"session":"sess-k"`) {
			t.Errorf("audit.jsonl lacks %s for sess-k:\n%s", want, log)
		}
	}
	if strings.Contains(string(log), k8sCanary) {
		t.Error("audit.jsonl holds the credential")
	}
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
