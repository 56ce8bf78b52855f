package proxy

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Sentinel errors. Handlers wrap them with %w and context; status maps them
// to an HTTP status, and nothing else does.
var (
	// ErrProxyAuth: missing or wrong Proxy-Authorization, or a removed session.
	ErrProxyAuth = errors.New("proxy authentication required")
	// ErrBadRequest: a request the proxy cannot serve as asked.
	ErrBadRequest = errors.New("bad proxy request")
	// ErrLoop: a request addressed to the proxy itself.
	ErrLoop = errors.New("request loops back to the proxy")
	// ErrNoCredential: the credential source has none for an intercepted host.
	ErrNoCredential = errors.New("no Anthropic credential configured; run `clauderon token set`")
	// ErrCredential: the credential source failed or returned an unusable credential.
	ErrCredential = errors.New("credential unavailable")
	// ErrUpstream: the upstream could not be reached or answered badly.
	ErrUpstream = errors.New("upstream unreachable")
	// ErrDialDenied: the dial policy refused the address a tunnel or a
	// plain-http request would connect to.
	ErrDialDenied = errors.New("destination refused by the proxy's dial policy")
	// ErrTooMany: the session holds as many connections as its pool allows.
	ErrTooMany = errors.New("too many connections")
	// ErrEgressDenied: the session's egress policy does not allow the host.
	ErrEgressDenied = errors.New("egress refused")
	// ErrBudget: the session's budget (or the daily one) is spent.
	ErrBudget = errors.New("budget spent")
)

// realm is sent in Proxy-Authenticate with every 407.
const realm = `Basic realm="clauderon"`

// status is the one place an error becomes an HTTP status and the "type" of
// the Anthropic-style JSON error body.
func status(err error) (code int, kind string) {
	switch {
	case errors.Is(err, ErrProxyAuth):
		return http.StatusProxyAuthRequired, "authentication_error"
	case errors.Is(err, ErrNoCredential):
		return http.StatusUnauthorized, "authentication_error"
	case errors.Is(err, ErrBudget):
		// 402, not 429: Claude Code retries a 429 for minutes, and shows
		// a 402's message at once.
		return http.StatusPaymentRequired, "billing_error"
	case errors.Is(err, ErrDialDenied), errors.Is(err, ErrEgressDenied):
		return http.StatusForbidden, "permission_error"
	case errors.Is(err, ErrLoop):
		return http.StatusLoopDetected, "invalid_request_error"
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, "invalid_request_error"
	case errors.Is(err, ErrTooMany):
		return http.StatusServiceUnavailable, "overloaded_error"
	case errors.Is(err, ErrCredential):
		return http.StatusServiceUnavailable, "api_error"
	case errors.Is(err, ErrUpstream):
		return http.StatusBadGateway, "api_error"
	}
	return http.StatusInternalServerError, "api_error"
}

// errorBody is Anthropic's error shape, so Claude Code shows the message.
type errorBody struct {
	Type  string      `json:"type"`
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// writeError answers err as JSON and returns the status it used.
func writeError(w http.ResponseWriter, err error) int {
	code, kind := status(err)
	msg := err.Error()
	if errors.Is(err, ErrNoCredential) {
		// The exact text Claude Code users are told to act on.
		msg = ErrNoCredential.Error()
	}
	h := w.Header()
	if errors.Is(err, ErrBudget) {
		// The budget's own words (which budget, and the command that
		// raises it); and no retry would be answered otherwise.
		msg = strings.TrimPrefix(msg, ErrBudget.Error()+": ")
		h.Set("X-Should-Retry", "false")
	}
	if code == http.StatusProxyAuthRequired {
		h.Set("Proxy-Authenticate", realm)
	}
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	b, _ := json.Marshal(errorBody{Type: "error", Error: errorDetail{Type: kind, Message: msg}})
	b = append(b, '\n')
	w.WriteHeader(code)
	_, _ = w.Write(b)
	return code
}
