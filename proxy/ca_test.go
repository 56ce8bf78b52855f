package proxy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCAFilesAndModes(t *testing.T) {
	home := t.TempDir()
	ca, err := LoadOrCreateCA(home)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{CACertFile: 0o644, CAKeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(home, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %o, want %o", name, fi.Mode().Perm(), want)
		}
	}
	if ca.CertPath() != filepath.Join(home, CACertFile) {
		t.Errorf("CertPath %s", ca.CertPath())
	}
	c := ca.Certificate()
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("CA constraints: IsCA %v BC %v KeyUsage %b", c.IsCA, c.BasicConstraintsValid, c.KeyUsage)
	}
	if len(c.SubjectKeyId) == 0 {
		t.Error("CA has no SubjectKeyId")
	}
	if _, ok := c.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("CA key %T, want ECDSA", c.PublicKey)
	}
	if time.Since(c.NotBefore) < 59*time.Minute {
		t.Errorf("CA NotBefore %v is not backdated an hour", c.NotBefore)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(home)
	if len(entries) != 2 {
		t.Errorf("home holds %d entries, want the two CA files", len(entries))
	}

	// Second load reuses the same CA.
	again, err := LoadOrCreateCA(home)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Certificate().Equal(c) || !bytes.Equal(again.CertPEM(), ca.CertPEM()) {
		t.Error("second load made a new CA")
	}
}

func TestCALoosenedKeyModeIsTightened(t *testing.T) {
	home := t.TempDir()
	if _, err := LoadOrCreateCA(home); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(home, CAKeyFile)
	os.Chmod(key, 0o644)
	if _, err := LoadOrCreateCA(home); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(key); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %o after load, want 600", fi.Mode().Perm())
	}
}

func TestCAConcurrentFirstUse(t *testing.T) {
	home := t.TempDir()
	var wg sync.WaitGroup
	cas := make([]*CA, 8)
	errs := make([]error, 8)
	for i := range cas {
		wg.Go(func() { cas[i], errs[i] = LoadOrCreateCA(home) })
	}
	wg.Wait()
	for i := range cas {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !cas[i].Certificate().Equal(cas[0].Certificate()) {
			t.Fatal("concurrent first use produced different CAs")
		}
	}
}

func TestCAErrors(t *testing.T) {
	t.Run("certificate without key", func(t *testing.T) {
		home := t.TempDir()
		LoadOrCreateCA(home)
		os.Remove(filepath.Join(home, CAKeyFile))
		_, err := LoadOrCreateCA(home)
		if err == nil || !strings.Contains(err.Error(), "key") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("mismatched key", func(t *testing.T) {
		a, b := t.TempDir(), t.TempDir()
		LoadOrCreateCA(a)
		LoadOrCreateCA(b)
		kb, _ := os.ReadFile(filepath.Join(b, CAKeyFile))
		os.WriteFile(filepath.Join(a, CAKeyFile), kb, 0o600)
		_, err := LoadOrCreateCA(a)
		if err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("orphan key from a crash is replaced", func(t *testing.T) {
		home := t.TempDir()
		LoadOrCreateCA(home)
		os.Remove(filepath.Join(home, CACertFile))
		ca, err := LoadOrCreateCA(home)
		if err != nil || ca == nil {
			t.Errorf("err %v", err)
		}
	})
}

func TestLeafCertificates(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Certificate())
	tests := []struct {
		host    string
		wantDNS bool
	}{
		{"api.anthropic.com", true},
		{"API.Anthropic.COM.", true},
		{"127.0.0.1", false},
		{"::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			tc, err := ca.Leaf(tt.host)
			if err != nil {
				t.Fatal(err)
			}
			leaf := tc.Leaf
			name := strings.ToLower(strings.TrimSuffix(tt.host, "."))
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("leaf does not verify for %s: %v", name, err)
			}
			if tt.wantDNS != (len(leaf.DNSNames) == 1 && len(leaf.IPAddresses) == 0) {
				t.Errorf("SANs DNS %v IP %v", leaf.DNSNames, leaf.IPAddresses)
			}
			if len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
				t.Errorf("EKU %v", leaf.ExtKeyUsage)
			}
			if leaf.IsCA {
				t.Error("leaf is a CA")
			}
			if !bytes.Equal(leaf.AuthorityKeyId, ca.Certificate().SubjectKeyId) {
				t.Error("AuthorityKeyId does not name the CA")
			}
			if life := leaf.NotAfter.Sub(leaf.NotBefore); life > 100*24*time.Hour {
				t.Errorf("leaf valid %v, want far under 398 days", life)
			}
			if time.Since(leaf.NotBefore) < 59*time.Minute {
				t.Error("leaf NotBefore not backdated")
			}
			if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
				t.Errorf("leaf key %T", leaf.PublicKey)
			}
			again, _ := ca.Leaf(tt.host)
			if again != tc {
				t.Error("cache returned a different certificate for the same host")
			}
		})
	}
}

func TestLeafCacheBounded(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ca.leaves = newLeafCache(3)
	first, _ := ca.Leaf("h0.example")
	for _, h := range []string{"h1.example", "h2.example", "h3.example"} {
		if _, err := ca.Leaf(h); err != nil {
			t.Fatal(err)
		}
	}
	if n := ca.leaves.len(); n != 3 {
		t.Errorf("cache holds %d, want 3", n)
	}
	if again, _ := ca.Leaf("h0.example"); again == first {
		t.Error("least recently used host was not evicted")
	}
}

func TestWriteTrustBundle(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	system := filepath.Join(dir, "system.pem")
	os.WriteFile(system, other.CertPEM(), 0o644)
	out := filepath.Join(dir, "bundle.pem")

	t.Run("from SSL_CERT_FILE", func(t *testing.T) {
		t.Setenv("SSL_CERT_FILE", system)
		if err := ca.WriteTrustBundle(out); err != nil {
			t.Fatal(err)
		}
		certs := readPEMCerts(t, out)
		if len(certs) != 2 || !certs[0].Equal(other.Certificate()) || !certs[1].Equal(ca.Certificate()) {
			t.Errorf("bundle holds %d certificates, want system roots then the proxy CA", len(certs))
		}
		if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o644 {
			t.Errorf("bundle mode %o", fi.Mode().Perm())
		}
	})
	t.Run("from a bundle clauderon wrote (exec inside exec)", func(t *testing.T) {
		// The inner exec's SSL_CERT_FILE is the outer's bundle, here the
		// very file it rewrites: the CA must still appear once.
		if err := ca.writeTrustBundle(out, "", []string{system}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if err := ca.writeTrustBundle(out, out, nil); err != nil {
				t.Fatal(err)
			}
		}
		certs := readPEMCerts(t, out)
		if len(certs) != 2 || !certs[0].Equal(other.Certificate()) || !certs[1].Equal(ca.Certificate()) {
			t.Errorf("bundle holds %d certificates, want the system root then the proxy CA once", len(certs))
		}
	})
	t.Run("from the usual places", func(t *testing.T) {
		err := ca.writeTrustBundle(out, "", []string{filepath.Join(dir, "missing.pem"), system})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(readPEMCerts(t, out)); n != 2 {
			t.Errorf("%d certificates", n)
		}
	})
	t.Run("none found", func(t *testing.T) {
		err := ca.writeTrustBundle(out, "", []string{filepath.Join(dir, "missing.pem")})
		if err == nil || !strings.Contains(err.Error(), "SSL_CERT_FILE") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("this machine's system roots", func(t *testing.T) {
		t.Setenv("SSL_CERT_FILE", "")
		if err := ca.WriteTrustBundle(out); err != nil {
			t.Skipf("no system bundle here: %v", err)
		}
		if n := len(readPEMCerts(t, out)); n < 10 {
			t.Errorf("only %d certificates from the system bundle", n)
		}
	})
}

func readPEMCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return out
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}
