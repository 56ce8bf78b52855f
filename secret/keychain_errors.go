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

// unavailableError is the ErrKeychainUnavailable error for a name: the
// cause, the underlying error when there is one, and both remedies. Status
// shows only its Short form where the keychain is not what is in use.
type unavailableError struct {
	name   string
	cause  string
	err    error // may be nil
	holder Holder
}

// unavailable builds the ErrKeychainUnavailable error for name.
func unavailable(name, cause string, err error, h Holder) error {
	return &unavailableError{name: name, cause: cause, err: err, holder: h}
}

func (e *unavailableError) Error() string {
	return fmt.Sprintf("%s: %s; to fix: %s", ErrKeychainUnavailable, e.short(), e.remedy())
}

func (e *unavailableError) remedy() string {
	r := unlockHint
	if v := envHint(e.name); v != "" {
		r += "; or set " + v + " in " + e.holder.env()
	}
	return r
}

// Unavailable splits an ErrKeychainUnavailable error into its cause (one
// line) and its remedies, for a report that shows them apart (doctor).
func Unavailable(err error) (cause, remedy string, ok bool) {
	var e *unavailableError
	if !errors.As(err, &e) {
		return "", "", false
	}
	return ErrKeychainUnavailable.Error() + ": " + e.short(), e.remedy(), true
}

// short is the cause without the remedies, on one line.
func (e *unavailableError) short() string {
	if e.err == nil {
		return e.cause
	}
	return fmt.Sprintf("%s (%v)", e.cause, e.err)
}

func (e *unavailableError) Unwrap() []error {
	if e.err == nil {
		return []error{ErrKeychainUnavailable}
	}
	return []error{ErrKeychainUnavailable, e.err}
}
