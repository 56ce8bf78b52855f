package secret

import (
	"errors"
	"fmt"
)

// ErrKeychainUnavailable means the OS keychain could not be asked: no D-Bus
// session, no Secret Service, a locked keyring, no answer in time. The errors
// that wrap it name the cause and the ways out. clauderon never falls back to
// a file.
var ErrKeychainUnavailable = errors.New("OS keychain unavailable")

// ErrTooBig is returned when the platform's keychain refuses a value's size
// (macOS takes about 3000 bytes, Windows 2560).
var ErrTooBig = errors.New("credential too long for the OS keychain")

// unavailable builds the ErrKeychainUnavailable error for name: the cause,
// the underlying error when there is one, and both remedies.
func unavailable(name, cause string, err error) error {
	remedy := unlockHint
	if h := envHint(name); h != "" {
		remedy += ", or set " + h + " in the daemon's environment"
	}
	if err == nil {
		return fmt.Errorf("%w: %s; to fix: %s", ErrKeychainUnavailable, cause, remedy)
	}
	return fmt.Errorf("%w: %s (%w); to fix: %s", ErrKeychainUnavailable, cause, err, remedy)
}
