package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/session"
)

// errFixedSource means the daemon was given a credential source it cannot
// change (Config.Credentials without Config.Tokens).
var errFixedSource = errors.New("this daemon was started with a fixed credential source; its tokens cannot be changed through the LocalAPI")

// maxTokenBody bounds a PUT /tokens body: far above any real credential.
const maxTokenBody = 64 << 10

func (d *Daemon) tokenStore() (*secret.Store, error) {
	if d.cfg.Tokens == nil {
		return nil, errFixedSource
	}
	return d.cfg.Tokens, nil
}

// writeTokenStatus answers the Status of name: where the credential the
// proxy uses comes from, never the credential.
func (d *Daemon) writeTokenStatus(w http.ResponseWriter, r *http.Request, s *secret.Store, name string) error {
	st, err := s.Status(r.Context(), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// tokenTarget is the credential name a token route names and the store it
// lives in, or why the route cannot serve it.
func (d *Daemon) tokenTarget(r *http.Request) (string, *secret.Store, error) {
	name := r.PathValue("name")
	if err := secret.CheckName(name); err != nil {
		return "", nil, err
	}
	s, err := d.tokenStore()
	return name, s, err
}

func (d *Daemon) getToken(w http.ResponseWriter, r *http.Request) error {
	name, s, err := d.tokenTarget(r)
	if err != nil {
		return err
	}
	return d.writeTokenStatus(w, r, s, name)
}

// putToken stores the body's token in the keychain. The store is the proxy's
// credential source, so the next proxied request uses it.
func (d *Daemon) putToken(w http.ResponseWriter, r *http.Request) error {
	name, s, err := d.tokenTarget(r)
	if err != nil {
		return err
	}
	// Decoding errors can quote the body, which holds the token: they are
	// replaced by a fixed message.
	var body api.TokenValue
	dec := json.NewDecoder(io.LimitReader(r.Body, maxTokenBody))
	dec.DisallowUnknownFields()
	if dec.Decode(&body) != nil || !atEOF(dec) {
		return session.Errorf(errBody, `bad request body: expected {"token": "..."} (at most %d bytes)`, maxTokenBody)
	}
	// The store trims the value and checks it against what name expects.
	if err := s.Set(r.Context(), name, secret.Wrap(body.Token)); err != nil {
		return err
	}
	d.log.Info("credential stored in the keychain", "name", name)
	return d.writeTokenStatus(w, r, s, name)
}

func (d *Daemon) deleteToken(w http.ResponseWriter, r *http.Request) error {
	name, s, err := d.tokenTarget(r)
	if err != nil {
		return err
	}
	if err := s.Delete(r.Context(), name); err != nil {
		return err
	}
	d.log.Info("credential removed from the keychain", "name", name)
	return d.writeTokenStatus(w, r, s, name)
}

// credentialCheck is the doctor's line about the Anthropic credential, with
// the fix that matches what went wrong.
func (d *Daemon) credentialCheck(r *http.Request) api.Check {
	const setupHint = "`claude setup-token`"
	tok, origin, err := d.cfg.Credentials.Get(r.Context(), secret.Anthropic)
	switch {
	case err == nil:
		c := api.Check{Name: "credential", OK: true, Detail: fmt.Sprintf("%s credential found in the %s (%s)", tok.Kind(), origin, tok.Fingerprint())}
		if s, serr := d.tokenStore(); serr == nil {
			if st, serr := s.Status(r.Context(), secret.Anthropic); serr == nil && st.Warning != "" {
				c.Detail += "; warning: " + st.Warning
			}
		}
		return c
	case errors.Is(err, secret.ErrKeychainUnavailable):
		return api.Check{Name: "credential", Detail: err.Error(),
			Fix: "make the OS keychain reachable from the daemon's session (unlock it, or start a Secret Service), then rerun `clauderon doctor`; " +
				"or set CLAUDE_CODE_OAUTH_TOKEN (from " + setupHint + ") in the daemon's environment and restart the daemon"}
	case errors.Is(err, secret.ErrNotFound):
		return api.Check{Name: "credential", Detail: "no Anthropic credential is configured",
			Fix: "get one with " + setupHint + " and store it with `clauderon token set`, " +
				"or set CLAUDE_CODE_OAUTH_TOKEN in the daemon's environment and restart the daemon"}
	}
	return api.Check{Name: "credential", Detail: err.Error(),
		Fix: "replace it with `clauderon token set` (a token from " + setupHint + "), or fix or unset the variable and restart the daemon"}
}
