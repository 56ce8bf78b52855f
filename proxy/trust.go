package proxy

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/clauderon/clauderon/internal/atomicfile"
)

// TrustBundleFile is the trust bundle's name inside CLAUDERON_HOME: the
// system roots plus the proxy CA, for clients' SSL_CERT_FILE.
const TrustBundleFile = "ca-bundle.pem"

// systemBundles are where Debian/Ubuntu, Fedora/RHEL, openSUSE, Alpine and
// macOS keep their PEM root bundles, in the order crypto/x509 looks.
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
}

// ErrNoSystemRoots means no system root bundle was found to build a trust
// bundle from.
var ErrNoSystemRoots = errors.New("no system CA bundle found; set SSL_CERT_FILE to one")

// WriteTrustBundle writes, atomically and with mode 0644, a PEM file holding
// the system roots followed by this CA: what SSL_CERT_FILE, CURL_CA_BUNDLE
// and GIT_SSL_CAINFO need so a client trusts both intercepted and tunnelled
// hosts. The system roots come from $SSL_CERT_FILE when set, otherwise from
// the first bundle found in the usual places.
func (c *CA) WriteTrustBundle(path string) error {
	return c.writeTrustBundle(path, os.Getenv("SSL_CERT_FILE"), systemBundles)
}

func (c *CA) writeTrustBundle(path, sslCertFile string, candidates []string) error {
	roots, from, err := readSystemRoots(sslCertFile, candidates)
	if err != nil {
		return err
	}
	// Under `clauderon exec`, SSL_CERT_FILE is a bundle like this one: keep
	// the CA from piling up in it with every nested run.
	roots = withoutCert(roots, c.cert.Raw)
	var buf bytes.Buffer
	buf.Write(roots)
	if len(roots) > 0 && roots[len(roots)-1] != '\n' {
		buf.WriteByte('\n')
	}
	fmt.Fprintf(&buf, "# clauderon proxy CA (%s); system roots above from %s\n", c.cert.Subject.CommonName, from)
	buf.Write(c.certPEM)
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("cannot write trust bundle: %w", err)
	}
	return nil
}

func readSystemRoots(sslCertFile string, candidates []string) ([]byte, string, error) {
	if sslCertFile != "" {
		b, err := os.ReadFile(sslCertFile)
		if err != nil {
			return nil, "", fmt.Errorf("SSL_CERT_FILE: %w", err)
		}
		if !hasCert(b) {
			return nil, "", fmt.Errorf("SSL_CERT_FILE %s holds no PEM certificate", sslCertFile)
		}
		return b, sslCertFile, nil
	}
	for _, p := range candidates {
		b, err := os.ReadFile(p)
		if err == nil && hasCert(b) {
			return b, p, nil
		}
	}
	return nil, "", fmt.Errorf("%w (looked in %s)", ErrNoSystemRoots, strings.Join(candidates, ", "))
}

// withoutCert returns the PEM blocks of b, re-encoded, except the
// certificate der; b as it is when it does not hold der.
func withoutCert(b, der []byte) []byte {
	var out bytes.Buffer
	found := false
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" && bytes.Equal(blk.Bytes, der) {
			found = true
			continue
		}
		_ = pem.Encode(&out, blk) // a bytes.Buffer does not fail
	}
	if !found {
		return b
	}
	return out.Bytes()
}

func hasCert(b []byte) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if blk.Type == "CERTIFICATE" {
			if _, err := x509.ParseCertificate(blk.Bytes); err == nil {
				return true
			}
		}
	}
}
