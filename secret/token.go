// Package secret holds credentials in types that cannot be printed, and finds
// them in the environment or the OS keychain.
package secret

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Kind says what sort of Anthropic credential a token is.
type Kind string

const (
	KindOAuth  Kind = "oauth"   // sk-ant-oat01-…, sent as Authorization: Bearer
	KindAPIKey Kind = "api-key" // sk-ant-api…, sent as x-api-key
)

// PlaceholderOAuth is the fake credential clients outside the proxy are given.
const PlaceholderOAuth = "sk-ant-oat01-clauderon-proxy-placeholder"

const redacted = "[REDACTED]"

// ErrBadToken is returned for a string that is not an Anthropic credential.
var ErrBadToken = errors.New("not an Anthropic credential: expected sk-ant-oat01-… (from `claude setup-token`) or sk-ant-api… (an API key)")

// Token is a credential. Every way of printing or encoding it redacts it;
// only Reveal gives the value, for the one place that sends it upstream.
type Token struct{ v string }

// ParseToken trims whitespace (a pasted token often carries a newline) and
// checks that s looks like an Anthropic credential.
func ParseToken(s string) (Token, error) {
	s = strings.Join(strings.Fields(s), "")
	t := Token{v: s}
	if t.Kind() == "" {
		return Token{}, ErrBadToken
	}
	return t, nil
}

// Kind reports the credential's kind, or "" when it is neither.
func (t Token) Kind() Kind {
	switch {
	case strings.HasPrefix(t.v, "sk-ant-oat01-") && len(t.v) > len("sk-ant-oat01-"):
		return KindOAuth
	case strings.HasPrefix(t.v, "sk-ant-api") && len(t.v) > len("sk-ant-api"):
		return KindAPIKey
	}
	return ""
}

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.v == "" }

// Reveal returns the secret value. Call it only where the value leaves for
// its rightful destination.
func (t Token) Reveal() string { return t.v }

// Equal compares two tokens in constant time.
func (t Token) Equal(o Token) bool {
	return subtle.ConstantTimeCompare([]byte(t.v), []byte(o.v)) == 1
}

// Fingerprint shows at most the last four characters, enough to tell two
// tokens apart and never enough to use one.
func (t Token) Fingerprint() string {
	if len(t.v) < 16 {
		return "…"
	}
	return "…" + t.v[len(t.v)-4:]
}

func (t Token) String() string               { return redacted }
func (t Token) GoString() string             { return redacted }
func (t Token) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (t Token) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (t Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (t Token) LogValue() slog.Value         { return slog.StringValue(redacted) }
