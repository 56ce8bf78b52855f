package cli

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/secret"
)

// sourceFunc is a secret.Source from a function.
type sourceFunc func(name string) (secret.Token, secret.Origin, error)

func (f sourceFunc) Get(_ context.Context, name string) (secret.Token, secret.Origin, error) {
	return f(name)
}

// TestCheckCredentials: exec refuses to start a command when a rule's
// credential is missing, with the store's message (its fix) kept.
func TestCheckCredentials(t *testing.T) {
	missing := errors.New("no anthropic credential: store one with `clauderon token set`")
	var asked []string
	none := sourceFunc(func(name string) (secret.Token, secret.Origin, error) {
		asked = append(asked, name)
		return secret.Token{}, "", missing
	})
	err := checkCredentials(context.Background(), none, proxy.DefaultRules())
	if !errors.Is(err, missing) || !strings.Contains(err.Error(), "clauderon token set") || !strings.Contains(err.Error(), proxy.AnthropicHost) {
		t.Errorf("checkCredentials = %v, want the store's error and the host", err)
	}
	if len(asked) != 1 || asked[0] != secret.Anthropic {
		t.Errorf("asked for %q, want [%s]", asked, secret.Anthropic)
	}
	some := sourceFunc(func(string) (secret.Token, secret.Origin, error) {
		return secret.Wrap("sk-ant-oat01-CANARY-check"), secret.OriginEnv, nil
	})
	if err := checkCredentials(context.Background(), some, proxy.DefaultRules()); err != nil {
		t.Errorf("with a credential: %v", err)
	}
}
