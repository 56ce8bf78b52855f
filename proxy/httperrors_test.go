package proxy

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerRefusalsRecorded: requests net/http refuses itself, before the
// proxy's handler runs, are in refused.jsonl with their status and reason,
// and nothing of their credential is.
func TestServerRefusalsRecorded(t *testing.T) {
	clk := newFakeClock()
	audit := openTestAudit(t, 0, clk)
	h := newHarness(t, canaryOAuth, withAudit(audit))
	cred := "Proxy-Authorization: Basic " + basic("sess-a", canaryOAuth2) + "\r\n"
	tests := []struct {
		name   string
		req    string
		status int
		reason string
	}{
		{"headers over the budget", "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n" + cred + "X-Pad: " + strings.Repeat("a", PreAuthHeaderBytes) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge, "431 Request Header Fields Too Large"},
		{"a Host with a space", "GET http://a/ HTTP/1.1\r\nHost: a b\r\n" + cred + "\r\n", http.StatusBadRequest, "malformed Host header"},
		{"two Host headers", "GET http://a/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + cred + "\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"no Host", "GET http://a/ HTTP/1.1\r\n" + cred + "\r\n", http.StatusBadRequest, "missing required Host header"},
		{"a malformed request line", "GET\r\n" + cred + "\r\n", http.StatusBadRequest, "400 Bad Request"},
		{"an unknown HTTP version", "GET http://a/ HTTP/9.9\r\nHost: a\r\n" + cred + "\r\n", http.StatusHTTPVersionNotSupported, "unsupported protocol version"},
		{"an unknown transfer encoding", "POST http://a/ HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: zip\r\n" + cred + "\r\n", http.StatusNotImplemented, "Unsupported transfer encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.advance(refusedWindow) // a window of its own: written in full
			if got := sendRaw(t, h.addr, []byte(tt.req)); got != tt.status {
				t.Errorf("answered %d, want %d", got, tt.status)
			}
			lines := auditLines(t, refusedPath(audit))
			if len(lines) == 0 {
				t.Fatal("refused.jsonl is empty")
			}
			last := lines[len(lines)-1]
			msg, _ := last["error"].(string)
			if last["status"] != float64(tt.status) || !strings.HasPrefix(msg, "refused by the HTTP server: ") || !strings.Contains(msg, tt.reason) {
				t.Errorf("last refused line %v, want status %d and error %q", last, tt.status, tt.reason)
			}
			if addr, _ := last["addr"].(string); !strings.HasPrefix(addr, "127.0.0.1:") {
				t.Errorf("addr %q, want the client's", addr)
			}
		})
	}
	// Requests the handler answered are not taken for net/http's own.
	resp, body := do(t, h.defaultClient(), newRequest(t, "GET", "https://api.anthropic.com/echo/ok", nil, nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authenticated request: %d %s", resp.StatusCode, body)
	}
	clk.advance(refusedWindow)
	if got := sendRaw(t, h.addr, []byte("GET http://a/ HTTP/1.1\r\nHost: a\r\n"+cred+"\r\n")); got != http.StatusProxyAuthRequired {
		t.Errorf("wrong credential: %d, want 407", got)
	}
	h.stop()
	audit.Close()
	refused := auditLines(t, refusedPath(audit))
	if len(refused) != len(tests)+1 {
		t.Errorf("%d refused lines, want %d: %v", len(refused), len(tests)+1, refused)
	}
	if last, _ := refused[len(refused)-1]["error"].(string); last != ErrProxyAuth.Error() {
		t.Errorf("the 407 is recorded with error %q", last)
	}
	for _, l := range auditLines(t, audit.Path()) {
		if l["status"] != float64(http.StatusOK) || l["session"] != h.name {
			t.Errorf("audit line %v, want only the authenticated request's", l)
		}
	}
	assertNoCanary(t, h, filepath.Dir(audit.Path()))
}
