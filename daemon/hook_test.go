package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
)

// hookEngine is runEngine on a Linux engine with a bridge gateway, where new
// sessions get the gateway.
type hookEngine struct{ runEngine }

func (*hookEngine) Gateway(context.Context) (string, error) { return "172.17.0.1", nil }

// TestHookEndpoint: a gateway session's /hook at clauderon.internal takes a
// small strict report and nothing else; what it refuses is not kept; /mcp
// stays for spawning sessions only.
func TestHookEndpoint(t *testing.T) {
	home := t.TempDir()
	cfg := testConfig(t, home)
	cfg.Backend = &hookEngine{}
	d := startDaemonWith(t, cfg)
	s, err := d.sessions.Create(context.Background(), session.Options{Name: "a", Prompt: "hi", Mode: session.ModeInteractive, Image: "img:1"})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Gateway {
		t.Fatal("the test's session has no gateway")
	}
	h := d.nested.handler("a")
	if h == nil {
		t.Fatal("a gateway session has no internal handler")
	}
	do := func(method, path, body string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, "http://clauderon.internal"+path, strings.NewReader(body)))
		return rec
	}
	if rec := do("POST", "/hook", `{"event":"PreToolUse","tool":"Bash"}`); rec.Code != http.StatusNoContent {
		t.Fatalf("a good report: %d %s", rec.Code, rec.Body)
	}
	bad := []struct {
		name, method, body string
		code               int
	}{
		{"GET", "GET", "", http.StatusMethodNotAllowed},
		{"not JSON", "POST", `{"event":`, http.StatusBadRequest},
		{"unknown field", "POST", `{"event":"Stop","prompt":"secret"}`, http.StatusBadRequest},
		{"two values", "POST", `{"event":"Stop"}{"event":"Stop"}`, http.StatusBadRequest},
		{"huge", "POST", `{"event":"Stop","tool":"` + strings.Repeat("a", 1<<20) + `"}`, http.StatusBadRequest},
		{"long tool", "POST", `{"event":"PreToolUse","tool":"` + strings.Repeat("a", api.MaxToolName+1) + `"}`, http.StatusBadRequest},
		{"escape in tool", "POST", `{"event":"PreToolUse","tool":"\u001b[2J"}`, http.StatusBadRequest},
		{"unknown event", "POST", `{"event":"Exfiltrate"}`, http.StatusBadRequest},
	}
	for _, b := range bad {
		if rec := do(b.method, "/hook", b.body); rec.Code != b.code {
			t.Errorf("%s: %d %s; want %d", b.name, rec.Code, rec.Body, b.code)
		}
		got, _ := d.sessions.Get("a")
		if a := got.Activity; a == nil || a.State != api.ActivityWorking || a.Tool != "Bash" {
			t.Errorf("after %s: %+v", b.name, a)
		}
	}
	if rec := do("POST", "/mcp", `{}`); rec.Code != http.StatusForbidden {
		t.Errorf("/mcp of a session without --spawn: %d %s", rec.Code, rec.Body)
	}
	if d.nested.handler("nobody") != nil {
		t.Error("an unknown session has an internal handler")
	}
}
