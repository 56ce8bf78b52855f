package daemon

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestMCPGuard: only loopback Hosts of this port, no foreign Origin, and
// the right bearer token reach the MCP server.
func TestMCPGuard(t *testing.T) {
	reached := 0
	h := mcpGuard(18090, strings.Repeat("a", 64), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached++ }))
	good := "Bearer " + strings.Repeat("a", 64)
	for _, tt := range []struct {
		name, host, origin, auth, path string
		want                           int
	}{
		{"ok", "127.0.0.1:18090", "", good, "/mcp", 200},
		{"localhost", "localhost:18090", "http://localhost:18090", good, "/mcp", 200},
		{"no token", "127.0.0.1:18090", "", "", "/mcp", 401},
		{"wrong token", "127.0.0.1:18090", "", "Bearer " + strings.Repeat("b", 64), "/mcp", 401},
		{"rebinding", "evil.example:18090", "", good, "/mcp", 403},
		{"other port", "127.0.0.1:1", "", good, "/mcp", 403},
		{"foreign origin", "127.0.0.1:18090", "http://evil.example", good, "/mcp", 403},
		{"other path", "127.0.0.1:18090", "", good, "/api/v0/tokens/anthropic", 404},
	} {
		before := reached
		req := httptest.NewRequest("POST", "http://x"+tt.path, strings.NewReader("{}"))
		req.Host = tt.host
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tt.want || (tt.want == 200) != (reached > before) {
			t.Errorf("%s: %d (reached %v), want %d", tt.name, rec.Code, reached > before, tt.want)
		}
		if tt.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("%s: a 401 without WWW-Authenticate", tt.name)
		}
	}
}
