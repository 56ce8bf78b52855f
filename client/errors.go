package client

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/clauderon/clauderon/api"
)

// Errors an APIError wraps, by HTTP status, so callers can use errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrBadRequest  = errors.New("bad request")
	ErrUnavailable = errors.New("unavailable")
)

// Errors an APIError also wraps, by its code, where one status means
// several things: each 409 is ErrConflict and one of these.
var (
	ErrExists   = errors.New("already exists")
	ErrState    = errors.New("not in a state that allows this")
	ErrUnlanded = errors.New("holds unlanded work")
	ErrImage    = errors.New("image not found")
	ErrEngine   = errors.New("container engine unreachable")
	// ErrCap: a nested session asked for more than its parent's caps.
	ErrCap = errors.New("over a nested session's cap")
)

// DaemonUnreachableError means the daemon's socket did not answer.
type DaemonUnreachableError struct {
	Socket string
	Err    error
}

func (e *DaemonUnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the clauderon daemon at %s; start it with `clauderon daemon`", e.Socket)
}

func (e *DaemonUnreachableError) Unwrap() error { return e.Err }

// APIError is an error answer of the LocalAPI: {"error": "...", "code": "..."}.
type APIError struct {
	Status  int
	Code    string // one of api's Code constants; "" from an older daemon
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Unwrap lets errors.Is match ErrNotFound and friends, by status and by code.
func (e *APIError) Unwrap() []error {
	var out []error
	switch e.Status {
	case http.StatusNotFound:
		out = append(out, ErrNotFound)
	case http.StatusConflict:
		out = append(out, ErrConflict)
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		out = append(out, ErrBadRequest)
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		out = append(out, ErrUnavailable)
	}
	switch e.Code {
	case api.CodeExists:
		out = append(out, ErrExists)
	case api.CodeState:
		out = append(out, ErrState)
	case api.CodeUnlanded:
		out = append(out, ErrUnlanded)
	case api.CodeImage:
		out = append(out, ErrImage)
	case api.CodeEngine:
		out = append(out, ErrEngine)
	case api.CodeCap:
		out = append(out, ErrCap)
	}
	return out
}
