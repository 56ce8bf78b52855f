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

// clientCredentials are what a client may send to authenticate to an
// intercepted host; all are replaced by the real credential.
var clientCredentials = []string{"Authorization", "X-Api-Key"}

// replaceCredentials removes the client's credentials from h and adds the
// real one. It runs in ReverseProxy's Rewrite, after ReverseProxy has
// removed the hop-by-hop headers and every header the client's Connection
// header named, so a "Connection: Authorization" cannot remove what is
// added here.
func replaceCredentials(h http.Header, r Rule, tok secret.Token) error {
	for _, name := range clientCredentials {
		h.Del(name)
	}
	return r.Inject(h, tok)
}
