package daemon

import (
	"context"
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

// tokenTarget is the store the credential name lives in, or why the
// daemon cannot serve it.
func (d *Daemon) tokenTarget(name string) (*secret.Store, error) {
	if err := secret.CheckName(name); err != nil {
		return nil, err
	}
	return d.tokenStore()
}

// TokenStatus says where the credential the proxy uses as name comes from,
// never the credential.
func (d *Daemon) TokenStatus(ctx context.Context, name string) (api.TokenStatus, error) {
	s, err := d.tokenTarget(name)
	if err != nil {
		return api.TokenStatus{}, err
	}
	return s.Status(ctx, name)
}

// SetToken stores tok in the keychain as name, once the store has checked it
// against what name expects (after trimming it). The store is the proxy's
// credential source, so the next proxied request uses it.
func (d *Daemon) SetToken(ctx context.Context, name, tok string) (api.TokenStatus, error) {
	s, err := d.tokenTarget(name)
	if err != nil {
		return api.TokenStatus{}, err
	}
	if err := s.Set(ctx, name, secret.Wrap(tok)); err != nil {
		return api.TokenStatus{}, err
	}
	d.log.Info("credential stored in the keychain", "name", name)
	return s.Status(ctx, name)
}

// DeleteToken removes name from the keychain; an error wrapping
// secret.ErrNotFound when it held none.
func (d *Daemon) DeleteToken(ctx context.Context, name string) (api.TokenStatus, error) {
	s, err := d.tokenTarget(name)
	if err != nil {
		return api.TokenStatus{}, err
	}
	if err := s.Delete(ctx, name); err != nil {
		return api.TokenStatus{}, err
	}
	d.log.Info("credential removed from the keychain", "name", name)
	return s.Status(ctx, name)
}

func (d *Daemon) getToken(w http.ResponseWriter, r *http.Request) error {
	st, err := d.TokenStatus(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (d *Daemon) putToken(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	// A bad name, or a store that cannot change, is the answer before the
	// body is read.
	if _, err := d.tokenTarget(name); err != nil {
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
	st, err := d.SetToken(r.Context(), name, body.Token)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (d *Daemon) deleteToken(w http.ResponseWriter, r *http.Request) error {
	st, err := d.DeleteToken(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// credentialCheck is the doctor's line about the Anthropic credential, with
// the fix that matches what went wrong.
func (d *Daemon) credentialCheck(ctx context.Context) api.Check {
	s, _ := d.tokenStore() // nil for a fixed source: no shadowing to report
	return credentialCheck(ctx, d.cfg.Credentials, s, "in the daemon's environment and restart the daemon")
}

// credentialCheck asks creds; store, when not nil, adds its warning (the
// environment shadows the keychain, or the keychain is unavailable). envFix
// says where a variable would be set.
func credentialCheck(ctx context.Context, creds secret.Source, store *secret.Store, envFix string) api.Check {
	const setupHint = "`claude setup-token`"
	tok, origin, err := creds.Get(ctx, secret.Anthropic)
	switch {
	case err == nil:
		c := api.Check{Name: "credential", OK: true, Detail: fmt.Sprintf("%s credential found in the %s (%s)", tok.Kind(), origin, tok.Fingerprint())}
		if store != nil {
			if st, serr := store.Status(ctx, secret.Anthropic); serr == nil && st.Warning != "" {
				c.Detail += "; warning: " + st.Warning
			}
		}
		return c
	case errors.Is(err, secret.ErrKeychainUnavailable):
		c := api.Check{Name: "credential", Detail: err.Error(),
			Fix: "make the OS keychain reachable (see \"A keychain without a desktop\" in the README), then rerun `clauderon doctor`; " +
				"or set CLAUDE_CODE_OAUTH_TOKEN (from " + setupHint + ") " + envFix}
		if cause, remedy, ok := secret.Unavailable(err); ok {
			c.Detail, c.Fix = cause, remedy
		}
		return c
	case errors.Is(err, secret.ErrNotFound):
		return api.Check{Name: "credential", Detail: "no Anthropic credential is configured",
			Fix: "get one with " + setupHint + " and store it with `clauderon token set`, " +
				"or set CLAUDE_CODE_OAUTH_TOKEN " + envFix}
	}
	return api.Check{Name: "credential", Detail: err.Error(),
		Fix: "replace it with `clauderon token set` (a token from " + setupHint + "), or fix or unset the variable " + envFix}
}
