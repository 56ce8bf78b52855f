package secret

import (
	"context"
	"errors"
	"os"
)

// Anthropic names the Anthropic credential. Later credentials (GitHub, npm)
// are further names, not new types.
const Anthropic = "anthropic"

// ErrNotFound means no credential of that name is configured anywhere.
var ErrNotFound = errors.New("no Anthropic credential configured; run `clauderon token set`")

// Origin says where a credential was found.
type Origin string

const (
	OriginEnv      Origin = "environment"
	OriginKeychain Origin = "keychain"
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
}

// EnvVars lists, in order of precedence, the variables Env reads.
var EnvVars = []string{"CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"}

// Get implements Source.
func (e Env) Get(_ context.Context, name string) (Token, Origin, error) {
	if name != Anthropic {
		return Token{}, "", ErrNotFound
	}
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, k := range EnvVars {
		if v := getenv(k); v != "" {
			t, err := ParseToken(v)
			if err != nil {
				return Token{}, OriginEnv, errors.New(k + " is set but " + err.Error())
			}
			return t, OriginEnv, nil
		}
	}
	return Token{}, "", ErrNotFound
}
