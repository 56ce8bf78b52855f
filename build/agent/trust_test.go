package agent_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/testenv"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/internal/testimage"
)

// Where a session mounts the trust files, and the environment pointing at
// them (session.ContainerEnv sets the same).
const (
	bundlePath = "/etc/clauderon/ca-bundle.pem"
	caPath     = "/etc/clauderon/proxy-ca.pem"
)

var trustEnv = []string{
	"SSL_CERT_FILE=" + bundlePath,
	"CURL_CA_BUNDLE=" + bundlePath,
	"GIT_SSL_CAINFO=" + bundlePath,
	"NODE_EXTRA_CA_CERTS=" + caPath,
}

// TestTrust checks the image's side of the trust design with no entrypoint:
// given the bundle (host roots + a CA) and the CA mounted read-only with
// trustEnv, curl, git and Claude Code in the image trust a server whose
// certificate that CA signed; without them they refuse it.
func TestTrust(t *testing.T) {
	b, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := b.Ping(ctx); err != nil {
		testenv.Unavailable(t, "%v", err)
	}
	image := testimage.Ensure(t)
	gw, err := b.Gateway(ctx)
	if err != nil || gw == "" {
		testenv.Unavailable(t, "no bridge gateway to serve on (%q, %v)", gw, err)
	}

	caPEM, leaf := newCA(t, gw)
	requests := make(chan string, 16)
	ln, err := tls.Listen("tcp", net.JoinHostPort(gw, "0"), &tls.Config{Certificates: []tls.Certificate{leaf}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case requests <- r.Method + " " + r.URL.Path:
		default:
		}
		if r.URL.Path == "/hello" {
			io.WriteString(w, "trusted\n")
			return
		}
		http.NotFound(w, r)
	}), ErrorLog: log.New(io.Discard, "", 0)} // the untrusted case's handshake errors are expected
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String()

	dir := t.TempDir()
	roots, err := os.ReadFile(hostRoots())
	if err != nil {
		testenv.Unavailable(t, "host CA roots: %v", err)
	}
	bundle := append(append(roots, '\n'), caPEM...)
	for name, data := range map[string][]byte{"ca-bundle.pem": bundle, "proxy-ca.pem": caPEM} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mounts := []backend.Mount{
		{Source: filepath.Join(dir, "ca-bundle.pem"), Target: bundlePath, ReadOnly: true},
		{Source: filepath.Join(dir, "proxy-ca.pem"), Target: caPath, ReadOnly: true},
	}
	script := `curl -sS ` + url + `/hello; echo curl=$?; git ls-remote ` + url + `/repo.git 2>&1; echo git=$?`

	t.Run("trusted", func(t *testing.T) {
		out := testimage.Run(t, ctx, b, backend.Spec{Image: image, Cmd: []string{"sh", "-c", script}, Env: trustEnv, Mounts: mounts})
		// git reaching the server's 404 proves the handshake succeeded.
		for _, want := range []string{"trusted\ncurl=0", "repository '" + url + "/repo.git/' not found"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("untrusted without the bundle", func(t *testing.T) {
		out := testimage.Run(t, ctx, b, backend.Spec{Image: image, Cmd: []string{"sh", "-c", script}, Mounts: mounts})
		for _, want := range []string{"curl=60", "server certificate verification failed"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("public hosts through the host roots", func(t *testing.T) {
		out := testimage.Run(t, ctx, b, backend.Spec{Image: image, Env: trustEnv, Mounts: mounts, Cmd: []string{"sh", "-c",
			"curl -sS --max-time 30 -o /dev/null https://registry.npmjs.org/; echo curl=$?"}})
		switch {
		case strings.Contains(out, "curl=0"):
		case strings.Contains(out, "curl=6"), strings.Contains(out, "curl=7"), strings.Contains(out, "curl=28"):
			t.Skipf("no route to a public host from containers: %s", out)
		default:
			t.Errorf("curl to a public host with the bundle:\n%s", out)
		}
	})
	t.Run("claude trusts NODE_EXTRA_CA_CERTS", func(t *testing.T) {
		drain(requests)
		spec := backend.Spec{
			Image: image,
			Cmd:   []string{"claude", "--print", "hi"},
			// Only NODE_EXTRA_CA_CERTS: Claude Code must not depend on the bundle.
			Env: []string{
				"ANTHROPIC_BASE_URL=" + url,
				"ANTHROPIC_API_KEY=sk-ant-api03-CANARY-trust-test",
				"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
				"NODE_EXTRA_CA_CERTS=" + caPath,
			},
			Mounts: mounts,
		}
		id, err := b.Create(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Remove(context.Background(), id, true)
		if err := b.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		// A request reaching the handler means Claude Code completed the TLS handshake.
		select {
		case req := <-requests:
			t.Logf("first request: %s", req)
		case <-ctx.Done():
			t.Fatal("Claude Code never reached the server")
		}
	})
}

func drain(c chan string) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// hostRoots is the host's PEM bundle of trusted roots, as the daemon reads it.
func hostRoots() string {
	if f := os.Getenv("SSL_CERT_FILE"); f != "" {
		return f
	}
	return "/etc/ssl/certs/ca-certificates.crt"
}

// newCA makes a throwaway CA and a leaf for ip signed by it.
func newCA(t *testing.T, ip string) (caPEM []byte, leaf tls.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "clauderon trust test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr(ip)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: ip},
		IPAddresses:  []net.IP{net.IP(addr.AsSlice())},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: key}
}
