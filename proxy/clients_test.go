package proxy

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// TestCurl drives the proxy with curl, as HTTPS_PROXY users would.
func TestCurl(t *testing.T) {
	curl := requireTool(t, "curl")
	h := newHarness(t, canaryOAuth, allowLoopback)
	proxyURL := h.proxyURL(h.name, h.secret).String()
	run := func(args ...string) (string, error) {
		out, err := exec.Command(curl, append([]string{"-sS", "--noproxy", "", "--max-time", "60"}, args...)...).CombinedOutput()
		return string(out), err
	}

	t.Run("intercepted", func(t *testing.T) {
		out, err := run("--proxy", proxyURL, "--cacert", h.ca.CertPath(), "-H", "Authorization: Bearer "+clientToken, "https://api.anthropic.com/echo/curl")
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		var echo echoReply
		if err := json.Unmarshal([]byte(out), &echo); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if got := echo.Headers.Get("Authorization"); got != "Bearer "+canaryOAuth {
			t.Errorf("upstream Authorization %q", got)
		}
	})
	t.Run("trust bundle", func(t *testing.T) {
		bundle := filepath.Join(t.TempDir(), "bundle.pem")
		if err := h.ca.WriteTrustBundle(bundle); err != nil {
			t.Skipf("no system roots: %v", err)
		}
		out, err := run("--proxy", proxyURL, "--cacert", bundle, "https://api.anthropic.com/echo/bundle")
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
	})
	t.Run("no proxy credentials", func(t *testing.T) {
		u := h.proxyURL("", "").String()
		out, _ := run("--proxy", u, "--cacert", h.ca.CertPath(), "-o", os.DevNull, "-w", "%{http_connect}", "https://api.anthropic.com/echo/x")
		if !strings.Contains(out, "407") {
			t.Errorf("curl saw %q, want CONNECT 407", out)
		}
	})
	t.Run("tunnelled", func(t *testing.T) {
		up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("origin")) }))
		defer up.Close()
		ca := filepath.Join(t.TempDir(), "up.pem")
		writeCertPEM(t, ca, up.Certificate().Raw)
		out, err := run("--proxy", proxyURL, "--cacert", ca, up.URL)
		if err != nil || out != "origin" {
			t.Errorf("%v: %s", err, out)
		}
		// Trusting only our CA fails: the tunnelled host is not intercepted.
		if out, err := run("--proxy", proxyURL, "--cacert", h.ca.CertPath(), up.URL); err == nil {
			t.Errorf("curl trusted a tunnelled host through the proxy CA: %s", out)
		}
	})
}

// TestNode checks that Node's TLS stack (OpenSSL) accepts our leaf, trusting
// the CA through NODE_EXTRA_CA_CERTS as containers do.
func TestNode(t *testing.T) {
	node := requireTool(t, "node")
	h := newHarness(t, canaryOAuth)
	host, port, _ := net.SplitHostPort(h.addr)
	script := `
const http = require('http'), tls = require('tls');
const req = http.request({host: process.env.PH, port: process.env.PP, method: 'CONNECT', path: 'api.anthropic.com:443',
  headers: {'Proxy-Authorization': 'Basic ' + process.env.PA}});
req.on('connect', (res, socket) => {
  if (res.statusCode !== 200) { console.log('CONNECT ' + res.statusCode); process.exit(1); }
  const s = tls.connect({socket, servername: 'api.anthropic.com'}, () => {
    s.write('GET /echo/node HTTP/1.1\r\nHost: api.anthropic.com\r\nConnection: close\r\n\r\n');
  });
  let d = '';
  s.on('data', c => d += c);
  s.on('end', () => { console.log(d.split('\r\n')[0]); process.exit(0); });
  s.on('error', e => { console.log('TLS error: ' + e.message); process.exit(2); });
});
req.on('error', e => { console.log(e.message); process.exit(3); });
req.end();
`
	cmd := exec.Command(node, "-e", script)
	cmd.Env = append(os.Environ(), "PH="+host, "PP="+port, "PA="+basic(h.name, h.secret), "NODE_EXTRA_CA_CERTS="+h.ca.CertPath())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "HTTP/1.1 200") {
		t.Fatalf("node: %v: %s", err, out)
	}
}

func writeCertPEM(t *testing.T, path string, der []byte) {
	t.Helper()
	b := pemEncode(der)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGit checks git's HTTPS stack (libcurl, GnuTLS on Debian) accepts our
// leaf through the proxy: the fake is no git server, but its having seen
// git's first request proves the tunnel and handshake worked.
func TestGit(t *testing.T) {
	git := requireTool(t, "git")
	h := newHarness(t, canaryOAuth)
	cmd := exec.Command(git, "-c", "http.proxy="+h.proxyURL(h.name, h.secret).String(), "ls-remote", "https://api.anthropic.com/some/repo.git")
	// GIT_SSL_CAINFO, as clauderon exec sets it, beats any http.sslCAInfo.
	cmd.Env = append(os.Environ(), "GIT_SSL_CAINFO="+h.ca.CertPath(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, _ := cmd.CombinedOutput() // fails: the fake does not speak git
	if strings.Contains(strings.ToLower(string(out)), "certificate") || strings.Contains(string(out), "SSL") {
		t.Fatalf("git rejected the proxy's certificate: %s", out)
	}
	var seen bool
	for _, r := range h.fake.Requests() {
		if strings.HasPrefix(r.Path, "/some/repo.git/info/refs") {
			seen = true
		}
	}
	if !seen {
		t.Fatalf("git's request never reached the upstream: %s", out)
	}
}

// TestClaudeCode runs the real Claude Code binary (Bun, BoringSSL) through
// the proxy with only the placeholder token, as a container would.
func TestClaudeCode(t *testing.T) {
	bin := os.Getenv("CLAUDERON_TEST_CLAUDE")
	if bin == "" {
		if os.Getenv("CLAUDERON_REQUIRE_E2E") == "1" {
			t.Fatal("CLAUDERON_TEST_CLAUDE is not set (CLAUDERON_REQUIRE_E2E=1)")
		}
		t.Skip("CLAUDERON_TEST_CLAUDE not set")
	}
	h := newHarness(t, canaryOAuth)
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".claude.json"), []byte(`{"hasCompletedOnboarding": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-p", "say hi")
	cmd.Env = []string{
		"HOME=" + home, "PATH=/usr/local/bin:/usr/bin:/bin",
		"CLAUDE_CODE_OAUTH_TOKEN=" + clientToken,
		"HTTPS_PROXY=" + h.proxyURL(h.name, h.secret).String(),
		"NODE_EXTRA_CA_CERTS=" + h.ca.CertPath(),
		"DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), fakeanthropic.DefaultReply) {
		t.Fatalf("claude: %v\n%s", err, out)
	}
	msgs := h.fake.MessageRequests()
	if len(msgs) == 0 {
		t.Fatal("no /v1/messages request reached the upstream")
	}
	for _, r := range h.fake.Requests() {
		if r.Authorization != "Bearer "+canaryOAuth || strings.Contains(r.Beta, clientToken) {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Authorization)
		}
		if !strings.Contains(r.Beta, OAuthBeta) {
			t.Errorf("%s %s: anthropic-beta %q lacks %s", r.Method, r.Path, r.Beta, OAuthBeta)
		}
	}
}
