package proxy

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCanaryNeverLeaks drives every kind of request with a canary token and
// then looks for it in the audit log, the logs and every file under
// CLAUDERON_HOME.
func TestCanaryNeverLeaks(t *testing.T) {
	for _, token := range []string{canaryOAuth, canaryAPIKey} {
		t.Run(token[:12], func(t *testing.T) {
			dead := freePortClosed(t)
			h := newHarness(t, token)
			c := h.defaultClient()
			hdr := map[string][]string{"Authorization": {"Bearer " + clientToken}}
			do(t, c, newRequest(t, "POST", "https://api.anthropic.com/v1/messages?beta=true", strings.NewReader(`{"model":"m"}`), hdr))
			do(t, c, newRequest(t, "POST", "https://api.anthropic.com/v1/messages", strings.NewReader(`{"model":"m","stream":true}`), hdr))
			do(t, c, newRequest(t, "GET", "https://api.anthropic.com/echo/x", nil, hdr))
			do(t, c, newRequest(t, "GET", "http://api.anthropic.com/echo/plain", nil, hdr)) // absolute URI form
			// An upstream failure, whose error text is logged and audited.
			h.proxy.rules[0].Upstream = dead
			h.proxy.transports[AnthropicHost] = h.proxy.ruleTransport(h.proxy.rules[0])
			c.Transport.(interface{ CloseIdleConnections() }).CloseIdleConnections()
			resp, _ := do(t, c, newRequest(t, "GET", "https://api.anthropic.com/v1/models", nil, hdr))
			if resp.StatusCode != 502 {
				t.Errorf("dead upstream: %d", resp.StatusCode)
			}
			h.stop()

			if got := h.fake.MessageRequests(); len(got) != 2 {
				t.Fatalf("upstream saw %d message requests", len(got))
			}
			if strings.Contains(h.logs.String(), "CANARY") {
				t.Errorf("logs hold the canary:\n%s", h.logs.String())
			}
			if !strings.Contains(h.logs.String(), "proxy request") {
				t.Error("logs are empty: the check above proves nothing")
			}
			checked := 0
			filepath.WalkDir(h.home, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					t.Error(err)
				}
				checked++
				if strings.Contains(string(b), "CANARY") {
					t.Errorf("%s holds the canary", p)
				}
				return nil
			})
			if checked < 3 { // CA cert, CA key, audit log
				t.Errorf("only %d files under CLAUDERON_HOME", checked)
			}
		})
	}
}
