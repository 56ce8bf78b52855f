package secret

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnknownName is returned for a credential name clauderon does not know.
var ErrUnknownName = errors.New("unknown credential name")

// kinds describes every credential clauderon stores. A new credential (a
// GitHub or npm token) is one more entry here: a keychain entry of that name,
// the environment variables that override it, and how its value is checked.
var kinds = map[string]credential{
	Anthropic: {env: EnvVars, parse: ParseToken},
}

type credential struct {
	env   []string                    // in order of precedence; read by Env
	parse func(string) (Token, error) // trims and validates a stored or typed value
}

func lookup(name string) (credential, error) {
	c, ok := kinds[name]
	if !ok {
		shown := fmt.Sprintf(" %q", name)
		if len(name) > 32 || strings.HasPrefix(name, "sk-") {
			shown = "" // it may be a token given in the name's place
		}
		return credential{}, fmt.Errorf("%w%s (known: %s)", ErrUnknownName, shown, strings.Join(Names(), ", "))
	}
	return c, nil
}

// CheckName returns an ErrUnknownName error, listing the known names, for a
// credential name clauderon does not know.
func CheckName(name string) error {
	_, err := lookup(name)
	return err
}

// Parse trims raw and checks it as a value of the credential name.
func Parse(name, raw string) (Token, error) {
	c, err := lookup(name)
	if err != nil {
		return Token{}, err
	}
	return c.parse(raw)
}

// Names lists the credential names clauderon knows, sorted.
func Names() []string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// envHint names the variables that override a credential, for messages.
func envHint(name string) string {
	c, ok := kinds[name]
	if !ok || len(c.env) == 0 {
		return ""
	}
	return strings.Join(c.env, " or ")
}
