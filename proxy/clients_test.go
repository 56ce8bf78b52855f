package proxy

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCurl drives the proxy with curl, as HTTPS_PROXY users would.
func TestCurl(t *testing.T) {
	curl := requireTool(t, "curl")
	h := newHarness(t, canaryOAuth)
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
