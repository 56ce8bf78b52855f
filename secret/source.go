package secret

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/clauderon/clauderon/api"
)

// Anthropic names the Anthropic credential. Later credentials (GitHub, npm)
// are further names, not new types.
const Anthropic = "anthropic"

// ErrNotFound means no credential of that name is configured where a source
// looked. The errors that wrap it say where to configure one.
var ErrNotFound = errors.New("credential not configured")

// Origin says where a credential was found.
type Origin = api.TokenOrigin

const (
	OriginEnv      = api.OriginEnv
	OriginKeychain = api.OriginKeychain
)

// Source finds the current value of a named credential. It is asked on every
// request, so a changed credential takes effect at once.
type Source interface {
	Get(ctx context.Context, name string) (Token, Origin, error)
}

// Env reads the Anthropic credential from CLAUDE_CODE_OAUTH_TOKEN, then
// ANTHROPIC_API_KEY. Getenv defaults to os.Getenv.
type Env struct {
	Getenv func(string) string
	// Holder is whose environment this is, for messages.
	Holder Holder
}

// EnvVars lists, in order of precedence, the variables Env reads.
var EnvVars = []string{"CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"}

// Get implements Source.
func (e Env) Get(_ context.Context, name string) (Token, Origin, error) {
	t, _, err := e.lookup(name)
	if err != nil {
		return Token{}, "", err
	}
	return t, OriginEnv, nil
}

// lookup also reports which variable held the credential.
func (e Env) lookup(name string) (Token, string, error) {
	c, err := lookup(name)
	if err != nil {
		return Token{}, "", err
	}
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range c.env {
		if v := getenv(k); v != "" {
			t, err := c.parse(v)
			if errors.Is(err, ErrPlaceholder) {
				// This process runs behind a clauderon proxy (a shell from
				// `clauderon exec`): the variable holds no credential.
				continue
			}
			if err != nil {
				return Token{}, k, fmt.Errorf("%s is set in %s but %w", k, e.Holder.env(), err)
			}
			return t, k, nil
		}
	}
	return Token{}, "", fmt.Errorf("%s credential not in the environment: %w", name, ErrNotFound)
}

// Chain asks its sources in order; the first that has the credential wins.
// A source that fails for another reason than ErrNotFound stops the search,
// so a broken override is reported instead of silently skipped.
type Chain []Source

// Get implements Source.
func (c Chain) Get(ctx context.Context, name string) (Token, Origin, error) {
	for _, s := range c {
		t, o, err := s.Get(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		return t, o, err
	}
	return Token{}, "", notConfigured(name, HolderDaemon)
}

// notConfigured is the error for a credential found nowhere, with both ways
// to configure it.
func notConfigured(name string, h Holder) error {
	msg := fmt.Sprintf("no %s credential: store one with `clauderon token set`", name)
	if v := envHint(name); v != "" {
		msg += " or set " + v + " in " + h.env()
	}
	return fmt.Errorf("%s: %w", msg, ErrNotFound)
}
