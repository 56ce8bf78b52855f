package proxy

import (
	"context"
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

// A RevocableAuthorizer also says when a credential it accepted stops
// being valid, so the proxy can close the tunnels and streams opened with
// it at once instead of only refusing their next request. Authorizers that
// do not implement it still work; their open blind tunnels then last until
// they close.
type RevocableAuthorizer interface {
	Authorizer
	// AuthorizeRevocable is Authorize; when ok, revoked is a context that
	// is cancelled (with a cause wrapping ErrProxyAuth) once the credential
	// is removed or replaced.
	AuthorizeRevocable(name, secret string) (revoked context.Context, ok bool)
}

// errRevoked is the cause of a session context cancelled by Remove or Set.
var errRevoked = fmt.Errorf("%w: the session was removed or its secret replaced", ErrProxyAuth)

// Sessions is an in-memory RevocableAuthorizer, safe for concurrent use.
// Only a hash of each secret is kept.
type Sessions struct {
	mu sync.RWMutex
	m  map[string]*sessionEntry
}

// sessionEntry is one session's secret digest and the context that lives
// as long as that secret is valid.
type sessionEntry struct {
	sum    [sha256.Size]byte
	ctx    context.Context
	revoke context.CancelCauseFunc
}

// NewSessions returns an empty set of sessions.
func NewSessions() *Sessions {
	return &Sessions{m: make(map[string]*sessionEntry)}
}

// ErrBadSession is returned by Set for a name or secret that cannot travel in
// a proxy URL's user info.
var ErrBadSession = errors.New("invalid proxy session")

// Set adds a session or replaces its secret. Replacing it with a different
// secret revokes the old one: connections opened with it are closed. Setting
// the same secret again changes nothing.
func (s *Sessions) Set(name, secret string) error {
	if name == "" || strings.ContainsFunc(name, func(r rune) bool { return r == ':' || unicode.IsControl(r) || unicode.IsSpace(r) }) {
		return fmt.Errorf("%w: name %q must be non-empty without spaces or ':'", ErrBadSession, name)
	}
	if secret == "" {
		return fmt.Errorf("%w: empty secret for %q", ErrBadSession, name)
	}
	sum := sha256.Sum256([]byte(secret))
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[name]; ok {
		if subtle.ConstantTimeCompare(old.sum[:], sum[:]) == 1 {
			return nil
		}
		old.revoke(errRevoked)
	}
	ctx, revoke := context.WithCancelCause(context.Background())
	s.m[name] = &sessionEntry{sum: sum, ctx: ctx, revoke: revoke}
	return nil
}

// Remove revokes a session: its next request is refused, and its open
// tunnels and in-flight requests are closed.
func (s *Sessions) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[name]; ok {
		old.revoke(errRevoked)
		delete(s.m, name)
	}
}

// Authorize implements Authorizer.
func (s *Sessions) Authorize(name, secret string) bool {
	_, ok := s.AuthorizeRevocable(name, secret)
	return ok
}

// AuthorizeRevocable implements RevocableAuthorizer. Secrets are compared
// as SHA-256 digests in constant time, so neither their content nor their
// length leaks.
func (s *Sessions) AuthorizeRevocable(name, secret string) (context.Context, bool) {
	got := sha256.Sum256([]byte(secret))
	s.mu.RLock()
	e, ok := s.m[name]
	s.mu.RUnlock()
	var want [sha256.Size]byte
	if ok {
		want = e.sum
	}
	if subtle.ConstantTimeCompare(got[:], want[:])&boolInt(ok) != 1 {
		return nil, false
	}
	return e.ctx, true
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
