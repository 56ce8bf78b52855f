package daemon

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/config"
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

// TestMCPEndpointHardened: a refused client's connection is closed, not
// kept; a body past the limit is refused; a port another program holds
// makes a new token, since that program may have caught the old one.
func TestMCPEndpointHardened(t *testing.T) {
	home := t.TempDir()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	heldPort := held.Addr().(*net.TCPAddr).Port
	os.WriteFile(filepath.Join(home, config.FileName), []byte(fmt.Sprintf(`{"mcp":{"port":%d}}`, heldPort)), 0o600)
	old, err := config.MCPToken(home)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemonWith(t, testConfig(t, home))
	now, _ := config.MCPToken(home)
	if now == old || d.mcpErr == nil || !strings.Contains(d.mcpErr.Error(), "new one was made") {
		t.Errorf("with the port held: token changed %v, error %v", now != old, d.mcpErr)
	}
	held.Close()

	home2 := t.TempDir()
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	os.WriteFile(filepath.Join(home2, config.FileName), []byte(fmt.Sprintf(`{"mcp":{"port":%d}}`, port)), 0o600)
	d2 := startDaemonWith(t, testConfig(t, home2))
	if d2.mcpLn == nil {
		t.Fatalf("the endpoint is off: %v", d2.mcpErr)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /mcp HTTP/1.1\r\nHost: %s\r\nContent-Length: 2\r\n\r\n{}", addr)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c) // to EOF: the server closes
	if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 401") {
		t.Errorf("a refused request: %q %v; want a 401 and the connection closed", b, err)
	}
	tok, _ := config.MCPToken(home2)
	req, _ := http.NewRequest("POST", "http://"+addr+"/mcp", strings.NewReader(strings.Repeat("x", mcpMaxBody+1)))
	req.Header.Set("Authorization", "bearer "+tok) // the scheme in any case
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
		t.Errorf("a %d-byte body: %d, want it refused", mcpMaxBody+1, resp.StatusCode)
	}
}
