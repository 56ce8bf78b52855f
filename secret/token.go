// Package secret holds credentials in types that cannot be printed, and finds
// them in the environment or the OS keychain.
package secret

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/clauderon/clauderon/api"
)

// Kind says what sort of Anthropic credential a token is (the LocalAPI's
// word for it).
type Kind = api.TokenKind

const (
	KindOAuth  = api.KindOAuth  // sk-ant-oat01-…, sent as Authorization: Bearer
	KindAPIKey = api.KindAPIKey // sk-ant-api…, sent as x-api-key
)

// PlaceholderOAuth is the fake credential clients outside the proxy are given.
const PlaceholderOAuth = "sk-ant-oat01-clauderon-proxy-placeholder"

const redacted = "[REDACTED]"

// ErrBadToken is returned for a string that is not an Anthropic credential.
var ErrBadToken = errors.New("not an Anthropic credential: expected sk-ant-oat01-… (from `claude setup-token`) or sk-ant-api… (an API key)")

// ErrPlaceholder is returned for clauderon's own placeholder, which is what
// a shell started by `clauderon exec` (or a container) holds in
// CLAUDE_CODE_OAUTH_TOKEN: it is never a credential to inject.
var ErrPlaceholder = fmt.Errorf("%w: this is clauderon's placeholder, given to clients of the proxy", ErrBadToken)

// Token is a credential. Every way of printing or encoding it redacts it;
// only Reveal gives the value, for the one place that sends it upstream.
//
// The value sits behind a pointer so that even where fmt cannot call
// Token's methods (a Token in an unexported struct field, printed with %+v
// or %#v) it prints an address, never the characters.
type Token struct{ p *string }

func newToken(s string) Token {
	if s == "" {
		return Token{}
	}
	return Token{p: &s}
}

// ParseToken trims whitespace (a pasted token often carries a newline) and
// checks that s looks like an Anthropic credential.
func ParseToken(s string) (Token, error) {
	v := strings.Join(strings.Fields(s), "")
	// Real tokens are base64url-ish; anything else (quotes, a pasted
	// "key=value", control bytes) is a paste gone wrong, and refusing it keeps
	// odd bytes out of the header the proxy builds.
	if strings.IndexFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) >= 0 {
		return Token{}, ErrBadToken
	}
	// Two tokens pasted by mistake would otherwise join into one that looks valid.
	if strings.Count(v, "sk-ant-") != 1 {
		return Token{}, ErrBadToken
	}
	if v == PlaceholderOAuth {
		return Token{}, ErrPlaceholder
	}
	t := newToken(v)
	if t.Kind() == "" {
		return Token{}, ErrBadToken
	}
	return t, nil
}

// Wrap holds s, unchecked, in a Token: for values that are not Anthropic
// credentials, such as a per-session proxy secret read back from state.
func Wrap(s string) Token { return newToken(s) }

func (t Token) val() string {
	if t.p == nil {
		return ""
	}
	return *t.p
}

// Kind reports the credential's kind, or "" when it is neither.
func (t Token) Kind() Kind {
	v := t.val()
	switch {
	case strings.HasPrefix(v, "sk-ant-oat01-") && len(v) > len("sk-ant-oat01-"):
		return KindOAuth
	case strings.HasPrefix(v, "sk-ant-api") && len(v) > len("sk-ant-api"):
		return KindAPIKey
	}
	return ""
}

// IsZero reports whether the token is empty.
func (t Token) IsZero() bool { return t.val() == "" }

// Reveal returns the secret value. Call it only where the value leaves for
// its rightful destination.
func (t Token) Reveal() string { return t.val() }

// Equal compares two tokens in constant time.
func (t Token) Equal(o Token) bool {
	return subtle.ConstantTimeCompare([]byte(t.val()), []byte(o.val())) == 1
}

// Fingerprint shows at most the last four characters, enough to tell two
// tokens apart and never enough to use one.
func (t Token) Fingerprint() string {
	v := t.val()
	if len(v) < 16 {
		return "…"
	}
	return "…" + v[len(v)-4:]
}

func (t Token) String() string               { return redacted }
func (t Token) GoString() string             { return redacted }
func (t Token) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redacted)) }
func (t Token) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }
func (t Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }
func (t Token) LogValue() slog.Value         { return slog.StringValue(redacted) }
