package proxy

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/clauderon/clauderon/secret"
)

// Injector puts a credential on outgoing request headers.
type Injector func(h http.Header, tok secret.Token) error

// OAuthBeta is the anthropic-beta flag the API requires with an OAuth token.
const OAuthBeta = "oauth-2025-04-20"

// InjectAnthropic sends an OAuth token as "Authorization: Bearer" (adding
// the OAuth beta flag) and an API key as "x-api-key".
func InjectAnthropic(h http.Header, tok secret.Token) error {
	switch tok.Kind() {
	case secret.KindOAuth:
		h.Set("Authorization", "Bearer "+tok.Reveal())
		addBeta(h, OAuthBeta)
	case secret.KindAPIKey:
		h.Set("X-Api-Key", tok.Reveal())
	default:
		return fmt.Errorf("%w: the stored Anthropic credential is neither an OAuth token nor an API key", ErrCredential)
	}
	return nil
}

// addBeta makes sure anthropic-beta lists flag, keeping the client's flags.
func addBeta(h http.Header, flag string) {
	var flags []string
	for _, v := range h.Values("Anthropic-Beta") {
		for f := range strings.SplitSeq(v, ",") {
			f = strings.TrimSpace(f)
			if f == flag {
				return
			}
			if f != "" {
				flags = append(flags, f)
			}
		}
	}
	h.Set("Anthropic-Beta", strings.Join(append(flags, flag), ","))
}

// hopByHop are the headers that describe one connection (RFC 9110 7.6.1),
// plus the proxy's own.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopByHop drops hop-by-hop headers, including every header the
// Connection header names.
func removeHopByHop(h http.Header) {
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, name := range hopByHop {
		h.Del(name)
	}
}

// clientCredentials are what a client may send to authenticate to an
// intercepted host; all are replaced by the real credential.
var clientCredentials = []string{"Authorization", "X-Api-Key"}

// prepareHeaders readies h for an intercepted upstream in the one safe
// order: hop-by-hop headers first (so a client's "Connection: Authorization"
// cannot remove what is added later), then the client's credentials, then
// the real one.
func prepareHeaders(h http.Header, r Rule, tok secret.Token) error {
	removeHopByHop(h)
	for _, name := range clientCredentials {
		h.Del(name)
	}
	return r.Inject(h, tok)
}
