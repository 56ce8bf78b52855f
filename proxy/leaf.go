package proxy

import (
	"container/list"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"strings"
	"sync"
	"time"
)

// Leaf lifetimes: far under the 398 days browsers and Apple's TLS stack
// accept, and renewed a day before they run out.
const (
	leafValidity = 30 * 24 * time.Hour
	leafRenew    = 24 * time.Hour
)

// Leaf returns a certificate for host (a DNS name or an IP address), signed
// by the CA. Certificates are cached per host, so the same host gets the
// same certificate until it nears expiry.
func (c *CA) Leaf(host string) (*tls.Certificate, error) {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" {
		return nil, errors.New("leaf certificate: empty host name")
	}
	now := time.Now()
	if cert := c.leaves.get(host, now); cert != nil {
		return cert, nil
	}
	// Mint outside the lock; if two callers race, the first stored wins so
	// every caller sees one certificate per host.
	cert, err := c.mint(host, now)
	if err != nil {
		return nil, err
	}
	return c.leaves.put(host, cert, now), nil
}

func (c *CA) mint(host string, now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randSerial()
	if err != nil {
		return nil, err
	}
	notAfter := now.Add(leafValidity)
	if notAfter.After(c.cert.NotAfter) {
		notAfter = c.cert.NotAfter
	}
	cn := host
	if len(cn) > 64 { // the X.520 upper bound for a common name
		cn = cn[:64]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"clauderon proxy"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		// AuthorityKeyId is taken from the CA's SubjectKeyId by x509.
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// leafCache is a bounded LRU of leaf certificates by host.
type leafCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *leafEntry
	byKey map[string]*list.Element
}

type leafEntry struct {
	host string
	cert *tls.Certificate
}

func newLeafCache(max int) *leafCache {
	return &leafCache{max: max, order: list.New(), byKey: make(map[string]*list.Element)}
}

func fresh(cert *tls.Certificate, now time.Time) bool {
	return now.Before(cert.Leaf.NotAfter.Add(-leafRenew))
}

func (lc *leafCache) get(host string, now time.Time) *tls.Certificate {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	el, ok := lc.byKey[host]
	if !ok {
		return nil
	}
	e := el.Value.(*leafEntry)
	if !fresh(e.cert, now) {
		lc.order.Remove(el)
		delete(lc.byKey, host)
		return nil
	}
	lc.order.MoveToFront(el)
	return e.cert
}

func (lc *leafCache) put(host string, cert *tls.Certificate, now time.Time) *tls.Certificate {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if el, ok := lc.byKey[host]; ok {
		e := el.Value.(*leafEntry)
		if fresh(e.cert, now) {
			lc.order.MoveToFront(el)
			return e.cert
		}
		e.cert = cert
		lc.order.MoveToFront(el)
		return cert
	}
	lc.byKey[host] = lc.order.PushFront(&leafEntry{host: host, cert: cert})
	for lc.order.Len() > lc.max {
		old := lc.order.Back()
		lc.order.Remove(old)
		delete(lc.byKey, old.Value.(*leafEntry).host)
	}
	return cert
}

func (lc *leafCache) len() int {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	return lc.order.Len()
}
