package daemon

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/secret"
)

// TestTokenRoutesFixedSource: a daemon given a credential source it cannot
// change refuses the token routes with 503, and unknown names with 404,
// without asking any keychain. (The routes on a real keychain are tested in
// e2e/token_test.go.)
func TestTokenRoutesFixedSource(t *testing.T) {
	d := startDaemon(t, t.TempDir())
	c := &client.Client{Socket: d.Socket()}
	ctx := context.Background()
	tests := []struct {
		name   string
		call   func() error
		status int
		msg    string
	}{
		{"status", func() error { _, err := c.TokenStatus(ctx, secret.Anthropic); return err }, http.StatusServiceUnavailable, "fixed credential source"},
		{"set", func() error {
			_, err := c.SetToken(ctx, secret.Anthropic, "sk-ant-oat01-CANARY-daemon-fixed")
			return err
		}, http.StatusServiceUnavailable, "fixed credential source"},
		{"delete", func() error { _, err := c.DeleteToken(ctx, secret.Anthropic); return err }, http.StatusServiceUnavailable, "fixed credential source"},
		{"unknown name", func() error { _, err := c.TokenStatus(ctx, "github-ish"); return err }, http.StatusNotFound, `unknown credential name "github-ish" (known: anthropic)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *client.APIError
			if !errors.As(err, &ae) || ae.Status != tt.status || !strings.Contains(ae.Message, tt.msg) {
				t.Errorf("got %v, want %d %q", err, tt.status, tt.msg)
			}
		})
	}
}

// TestTokensAreTheProxySource: with no Credentials, the store the token
// routes change is the very object the proxy asks, so a change needs no
// restart.
func TestTokensAreTheProxySource(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Credentials = nil
	cfg.Tokens = &secret.Store{Env: secret.Env{Getenv: func(string) string { return "" }}, Keychain: &secret.Keychain{Service: "clauderon-daemon-test-unused"}}
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if s, ok := d.cfg.Credentials.(*secret.Store); !ok || s != cfg.Tokens {
		t.Errorf("the proxy's source is %T %p, want the Tokens store %p", d.cfg.Credentials, d.cfg.Credentials, cfg.Tokens)
	}
}
