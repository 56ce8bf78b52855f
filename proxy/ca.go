package proxy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/clauderon/clauderon/internal/atomicfile"
)

// File names of the CA inside CLAUDERON_HOME.
const (
	CACertFile = "proxy-ca.pem"
	CAKeyFile  = "proxy-ca-key.pem"
)

const (
	caValidity     = 10 * 365 * 24 * time.Hour
	backdate       = time.Hour
	defaultLeafCap = 512
)

// CA is the proxy's certificate authority. It signs a leaf certificate for
// every intercepted host; clients trust it through CertPath.
type CA struct {
	cert     *x509.Certificate
	key      crypto.Signer
	certPEM  []byte
	certPath string
	leaves   *leafCache
}

// LoadOrCreateCA loads home/proxy-ca.pem and home/proxy-ca-key.pem, creating
// both on first use (the certificate 0644, the key 0600).
func LoadOrCreateCA(home string) (*CA, error) {
	certPath := filepath.Join(home, CACertFile)
	keyPath := filepath.Join(home, CAKeyFile)
	for attempt := 0; ; attempt++ {
		ca, err := loadCA(certPath, keyPath)
		if err == nil || !errors.Is(err, os.ErrNotExist) {
			return ca, err
		}
		// Another process may be between writing the key and the
		// certificate; give it a moment before treating a lone key as the
		// leftover of a crash.
		_, kerr := os.Stat(keyPath)
		orphan := kerr == nil
		if orphan && attempt < 20 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if attempt > 21 {
			return nil, fmt.Errorf("cannot create the proxy CA in %s", home)
		}
		if err := createCA(certPath, keyPath, orphan); err != nil {
			return nil, err
		}
	}
}

func loadCA(certPath, keyPath string) (*CA, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s exists but its key %s is missing; delete the certificate to make a new CA: %w", certPath, keyPath, errNoKey)
		}
		return nil, err
	}
	// Keep the key private even if something loosened its mode.
	if fi, err := os.Stat(keyPath); err == nil && fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(keyPath, 0o600); err != nil {
			return nil, fmt.Errorf("%s is readable by others and cannot be fixed: %w", keyPath, err)
		}
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%s: no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, fmt.Errorf("%s: no PEM private key", keyPath)
	}
	key, err := parseKey(kb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, fmt.Errorf("%s is not a CA certificate", certPath)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s does not match the key in %s; delete both to make a new CA", certPath, keyPath)
	}
	if time.Now().After(cert.NotAfter.Add(-24 * time.Hour)) {
		return nil, fmt.Errorf("%s expired on %s; delete it and %s to make a new CA", certPath, cert.NotAfter.Format(time.DateOnly), keyPath)
	}
	return &CA{cert: cert, key: key, certPEM: certPEM, certPath: certPath, leaves: newLeafCache(defaultLeafCap)}, nil
}

// errNoKey keeps a lone certificate from being treated as "nothing there".
var errNoKey = errors.New("CA key missing")

func parseKey(b *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch b.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", b.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported key type %T", k)
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}

// createCA writes a new key and certificate. The key is linked into place
// first (link fails if one exists, so two processes cannot both win), then
// the certificate is renamed over, so a reader never sees a certificate
// without its key. replaceOrphan replaces a key left without certificate.
func createCA(certPath, keyPath string, replaceOrphan bool) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	ski := sha1.Sum(pub)
	now := time.Now()
	host, _ := os.Hostname()
	serial, err := randSerial()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         "clauderon proxy CA " + hex.EncodeToString(ski[:4]),
			Organization:       []string{"clauderon"},
			OrganizationalUnit: []string{host},
		},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          ski[:],
		AuthorityKeyId:        ski[:],
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if _, err := os.Stat(certPath); err == nil {
		return nil // someone else finished first
	}
	lost := errors.New("another process is creating the CA")
	err = atomicfile.Place(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600, func(tmp, path string) error {
		err := os.Link(tmp, path)
		if !errors.Is(err, os.ErrExist) {
			return err
		}
		// Another process won the race and is about to write its
		// certificate; LoadOrCreateCA waits for it. Only a key that
		// stayed alone while we waited is replaced.
		if !replaceOrphan {
			return lost
		}
		return os.Rename(tmp, path)
	})
	if errors.Is(err, lost) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot write the proxy CA key: %w", err)
	}
	if err := atomicfile.Write(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("cannot write the proxy CA certificate: %w", err)
	}
	return nil
}

// randSerial is a positive random 127-bit serial number.
func randSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	return n.Add(n, big.NewInt(1)), nil
}

// CertPath is the PEM file clients must trust (NODE_EXTRA_CA_CERTS).
func (c *CA) CertPath() string { return c.certPath }

// CertPEM returns the CA certificate in PEM form.
func (c *CA) CertPEM() []byte { return append([]byte(nil), c.certPEM...) }

// Certificate returns the parsed CA certificate.
func (c *CA) Certificate() *x509.Certificate { return c.cert }
