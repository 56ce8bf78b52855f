package session

import (
	"errors"
	"fmt"
)

// Errors the manager wraps; the daemon maps each to an HTTP status in one place.
var (
	ErrInvalid     = errors.New("invalid request")
	ErrNotFound    = errors.New("no such session")
	ErrExists      = errors.New("session already exists")
	ErrImage       = errors.New("image not found")
	ErrEngine      = errors.New("container engine unreachable")
	ErrState       = errors.New("session is not in a state that allows this")
	ErrClosed      = errors.New("session manager is shutting down")
	ErrUnavailable = errors.New("temporarily unavailable")
	// ErrConflict: the user's repository disagrees (a branch exists, the
	// working tree changed where the work would be applied).
	ErrConflict = errors.New("conflict with the user's repository")
	// ErrUnlanded: deleting would lose work that was never landed or applied.
	ErrUnlanded = errors.New("session holds unlanded work")
	// ErrDenied: the session's egress policy refuses a host.
	ErrDenied = errors.New("egress denied")
	// ErrCap: a child session asked for more than its parent's caps allow.
	ErrCap = errors.New("over a nested session's cap")
)

// kindError is an error of one of the kinds above whose message is only its
// own text, so users read "workdir /x does not exist", not a prefix.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// Errorf returns an error of kind (one of the Err values above) whose message
// is only the formatted text.
func Errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
