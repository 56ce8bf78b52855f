package proxy

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

func pemEncode(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// TestUpstreamTrustsSSLCertFile runs a proxy whose rule has no CA file, so
// it verifies the upstream against the system roots, in a child process
// (Go loads system roots once per process) with SSL_CERT_FILE pointing at
// the fake's CA, and then at an unrelated CA.
func TestUpstreamTrustsSSLCertFile(t *testing.T) {
	if os.Getenv("CLAUDERON_PROXY_CHILD") == "1" {
		t.Skip("parent only")
	}
	dir := t.TempDir()
	fake, err := fakeanthropic.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	other, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, certFile, want string
	}{
		{"fake CA trusted", fake.CAFile, "status 200"},
		{"fake CA not trusted", other.CertPath(), "status 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSSLCertFileChild$", "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(),
				"CLAUDERON_PROXY_CHILD=1", "FAKE_ADDR="+fake.Addr,
				"SSL_CERT_FILE="+tt.certFile, "SSL_CERT_DIR="+t.TempDir(), "CLAUDERON_HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("child output lacks %q:\n%s", tt.want, out)
			}
		})
	}
	if n := len(fake.MessageRequests()); n != 1 {
		t.Errorf("upstream saw %d requests, want 1 (only the trusted run)", n)
	}
}

func TestSSLCertFileChild(t *testing.T) {
	if os.Getenv("CLAUDERON_PROXY_CHILD") != "1" {
		t.Skip("run by TestUpstreamTrustsSSLCertFile")
	}
	home := os.Getenv("CLAUDERON_HOME")
	ca, err := LoadOrCreateCA(home)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := DefaultRules().WithUpstreams(map[string]config.Upstream{AnthropicHost: {Address: os.Getenv("FAKE_ADDR")}})
	if err != nil {
		t.Fatal(err)
	}
	sessions := NewSessions()
	sessions.Set("child", "secret")
	p, err := New(Config{CA: ca, Rules: rules, Auth: sessions, Credentials: newSource(t, canaryOAuth)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()

	// The client trusts our CA only from an explicit pool, so the child's
	// SSL_CERT_FILE affects the proxy's upstream side alone.
	pool := x509.NewCertPool()
	pool.AddCert(ca.Certificate())
	tr := &http.Transport{
		Proxy:           http.ProxyURL(&url.URL{Scheme: "http", Host: ln.Addr().String(), User: url.UserPassword("child", "secret")}),
		TLSClientConfig: tlsConfig(pool),
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post("https://api.anthropic.com/v1/messages", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("status %d\n%s\n", resp.StatusCode, b)
	if resp.StatusCode == 502 && !strings.Contains(string(b), "certificate") {
		t.Errorf("502 without a certificate reason: %s", b)
	}
}
