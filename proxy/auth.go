package proxy

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode"
)

// Authorizer decides whether a Proxy-Authorization name and secret may use
// the proxy. It is asked on every request, including each request inside an
// intercepted tunnel, so revoking a session takes effect at once.
type Authorizer interface {
	Authorize(name, secret string) bool
}

// Sessions is an in-memory Authorizer, safe for concurrent use. Only a hash
// of each secret is kept.
type Sessions struct {
	mu sync.RWMutex
	m  map[string][sha256.Size]byte
}

// NewSessions returns an empty set of sessions.
func NewSessions() *Sessions {
	return &Sessions{m: make(map[string][sha256.Size]byte)}
}

// ErrBadSession is returned by Set for a name or secret that cannot travel in
// a proxy URL's user info.
var ErrBadSession = errors.New("invalid proxy session")

// Set adds a session or replaces its secret.
func (s *Sessions) Set(name, secret string) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r == ':' || unicode.IsControl(r) || unicode.IsSpace(r) }) {
		return fmt.Errorf("%w: name %q must be non-empty without spaces or ':'", ErrBadSession, name)
	}
	if secret == "" {
		return fmt.Errorf("%w: empty secret for %q", ErrBadSession, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = sha256.Sum256([]byte(secret))
	return nil
}

// Remove revokes a session; its next request is refused.
func (s *Sessions) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
}

// Authorize implements Authorizer. Secrets are compared as SHA-256 digests
// in constant time, so neither their content nor their length leaks.
func (s *Sessions) Authorize(name, secret string) bool {
	s.mu.RLock()
	want, ok := s.m[name]
	s.mu.RUnlock()
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want[:])&boolInt(ok) == 1
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// NewSecret returns a random per-session secret, safe to put in a proxy URL.
func NewSecret() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// parseProxyAuthorization reads a "Basic base64(name:secret)" header value.
func parseProxyAuthorization(v string) (name, secret string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
	if err != nil {
		return "", "", false
	}
	name, secret, found = strings.Cut(string(raw), ":")
	if !found || name == "" {
		return "", "", false
	}
	return name, secret, true
}
