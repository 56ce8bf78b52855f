package daemon

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"strings"
)

// mcpGuard lets a request reach next only when it is for this endpoint on
// loopback (Host exactly 127.0.0.1:port or localhost:port, so a DNS
// rebinding page cannot), from no other web origin (Origin, when present,
// is one of those), and carries the bearer token. Anything else gets a
// JSON-RPC-shaped error and never reaches the MCP server.
func mcpGuard(port int, token string, next http.Handler) http.Handler {
	p := strconv.Itoa(port)
	hosts := map[string]bool{"127.0.0.1:" + p: true, "localhost:" + p: true}
	origins := map[string]bool{"http://127.0.0.1:" + p: true, "http://localhost:" + p: true}
	want := []byte(token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !hosts[strings.ToLower(r.Host)]:
			mcpHTTPError(w, http.StatusForbidden, "this endpoint answers only to Host 127.0.0.1:"+p+" or localhost:"+p)
		case r.Header.Get("Origin") != "" && !origins[strings.ToLower(r.Header.Get("Origin"))]:
			mcpHTTPError(w, http.StatusForbidden, "requests from another web origin are refused")
		case subtle.ConstantTimeCompare(bearerToken(r), want) != 1:
			w.Header().Set("WWW-Authenticate", `Bearer realm="clauderon"`)
			mcpHTTPError(w, http.StatusUnauthorized, "missing or wrong bearer token: send `Authorization: Bearer $(clauderon mcp token)`")
		case r.URL.Path != "/mcp":
			mcpHTTPError(w, http.StatusNotFound, "the MCP endpoint is /mcp")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

func mcpHTTPError(w http.ResponseWriter, code int, msg string) {
	// A refused client keeps no connection open.
	w.Header().Set("Connection", "close")
	writeJSON(w, code, map[string]any{"jsonrpc": "2.0", "error": map[string]any{"code": -32001, "message": msg}})
}

// bearerToken is the token of an `Authorization: Bearer` header (the
// scheme in any case, RFC 6750), or nil.
func bearerToken(r *http.Request) []byte {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return nil
	}
	return []byte(strings.TrimSpace(tok))
}
