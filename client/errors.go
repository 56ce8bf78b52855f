package client

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors an APIError wraps, by HTTP status, so callers can use errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict")
	ErrBadRequest  = errors.New("bad request")
	ErrUnavailable = errors.New("unavailable")
)

// DaemonUnreachableError means the daemon's socket did not answer.
type DaemonUnreachableError struct {
	Socket string
	Err    error
}

func (e *DaemonUnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the clauderon daemon at %s; start it with `clauderon daemon` or open the app", e.Socket)
}

func (e *DaemonUnreachableError) Unwrap() error { return e.Err }

// APIError is an error answer of the LocalAPI: {"error": "..."}.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Unwrap lets errors.Is match ErrNotFound and friends.
func (e *APIError) Unwrap() error {
	switch e.Status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrConflict
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return ErrBadRequest
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return ErrUnavailable
	}
	return nil
}
