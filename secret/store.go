package secret

import (
	"context"
	"errors"
	"fmt"

	"github.com/clauderon/clauderon/api"
)

// Store is the daemon's credential store: the environment overrides the
// keychain, and writes go to the keychain. It is the Source the proxy asks,
// and what the LocalAPI's token routes call.
type Store struct {
	Env      Env
	Keychain *Keychain
}

// NewStore returns a daemon's Store on the real environment and the
// keychain service (DefaultService when "").
func NewStore(service string) *Store { return NewStoreFor(service, HolderDaemon) }

// NewStoreFor is NewStore for another holder than a daemon: its messages
// say whose environment to set a variable in.
func NewStoreFor(service string, h Holder) *Store {
	return &Store{Env: Env{Holder: h}, Keychain: &Keychain{Service: service, Holder: h}}
}

// Get implements Source: CLAUDE_CODE_OAUTH_TOKEN, then ANTHROPIC_API_KEY,
// then the keychain. The keychain is not asked when the environment answers.
func (s *Store) Get(ctx context.Context, name string) (Token, Origin, error) {
	t, o, err := Chain{s.Env, s.Keychain}.Get(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return Token{}, "", notConfigured(name, s.Env.Holder)
	}
	return t, o, err
}

// Set stores tok in the keychain. A credential in the environment still
// wins; Status reports that.
func (s *Store) Set(ctx context.Context, name string, tok Token) error {
	return s.Keychain.Set(ctx, name, tok)
}

// Delete removes name from the keychain.
func (s *Store) Delete(ctx context.Context, name string) error {
	return s.Keychain.Delete(ctx, name)
}

// KeychainState says what the keychain holds for a name.
type KeychainState = api.KeychainState

const (
	KeychainSet         = api.KeychainSet
	KeychainEmpty       = api.KeychainEmpty
	KeychainInvalid     = api.KeychainInvalid     // an entry that is not a valid credential
	KeychainUnavailable = api.KeychainUnavailable // see ErrKeychainUnavailable
)

// Status describes a credential without revealing it: the LocalAPI's
// TokenStatus.
type Status = api.TokenStatus

// Status reports where name comes from. Problems with the credential (none
// configured, keychain unavailable, an invalid value) are described in the
// Status; the error is for an unknown name or a cancelled ctx.
func (s *Store) Status(ctx context.Context, name string) (Status, error) {
	if _, err := lookup(name); err != nil {
		return Status{}, err
	}
	st := Status{Name: name}

	ktok, _, kerr := s.Keychain.Get(ctx, name)
	switch {
	case kerr == nil:
		st.Keychain = KeychainSet
	case errors.Is(kerr, context.Canceled), errors.Is(kerr, context.DeadlineExceeded):
		return Status{}, kerr
	case errors.Is(kerr, ErrNotFound):
		st.Keychain = KeychainEmpty
	case errors.Is(kerr, ErrKeychainUnavailable):
		st.Keychain = KeychainUnavailable
	default:
		st.Keychain = KeychainInvalid
	}

	etok, evar, eerr := s.Env.lookup(name)
	switch {
	case eerr == nil:
		st.Configured, st.Origin, st.EnvVar = true, OriginEnv, evar
		st.Kind, st.Fingerprint = etok.Kind(), etok.Fingerprint()
		switch st.Keychain {
		case KeychainSet:
			st.Warning = fmt.Sprintf("%s in the daemon's environment (%s) overrides the keychain entry (%s); unset it and restart the daemon to use the keychain",
				evar, etok.Fingerprint(), ktok.Fingerprint())
		case KeychainUnavailable:
			// The environment's credential is in use: one line, not the
			// remedies, which only matter to whoever wants the keychain.
			var ue *unavailableError
			short := kerr.Error()
			if errors.As(kerr, &ue) {
				short = ue.short()
			}
			st.Warning = fmt.Sprintf("%s (%s); %s from the environment is in use", ErrKeychainUnavailable, short, evar)
		case KeychainInvalid:
			st.Warning = kerr.Error()
		}
	case !errors.Is(eerr, ErrNotFound):
		st.Origin, st.EnvVar, st.Error = OriginEnv, evar, eerr.Error()
	case kerr == nil:
		st.Configured, st.Origin = true, OriginKeychain
		st.Kind, st.Fingerprint = ktok.Kind(), ktok.Fingerprint()
	case st.Keychain == KeychainEmpty:
		st.Error = notConfigured(name, s.Env.Holder).Error()
	default:
		st.Error = kerr.Error()
	}
	return st, nil
}
