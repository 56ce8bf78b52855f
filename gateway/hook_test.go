package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
)

// hookProxy is an HTTP proxy that records the one request it gets.
type hookProxy struct {
	*httptest.Server
	got chan *http.Request
	bod chan []byte
}

func newHookProxy(t *testing.T, status int) *hookProxy {
	p := &hookProxy{got: make(chan *http.Request, 1), bod: make(chan []byte, 1)}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.got <- r
		p.bod <- b
		w.WriteHeader(status)
	}))
	t.Cleanup(p.Close)
	return p
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestHook: the hook's input becomes a small report POSTed for
// clauderon.internal through the proxy with the environment's credential.
func TestHook(t *testing.T) {
	long := strings.Repeat("T", 1000)
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  api.HookReport
	}{
		{"tool", []string{"PreToolUse"}, `{"hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"true"}}`, api.HookReport{Event: "PreToolUse", Tool: "Bash"}},
		{"no argument", nil, `{"hook_event_name":"Stop","session_id":"x"}`, api.HookReport{Event: "Stop"}},
		{"bad input", []string{"Stop"}, `{not json`, api.HookReport{Event: "Stop"}},
		{"notification", []string{"Notification"}, `{"hook_event_name":"Notification","notification_type":"permission_prompt","message":"Claude needs your permission"}`, api.HookReport{Event: "Notification", Notification: "permission_prompt"}},
		{"huge tool name", []string{"PreToolUse"}, `{"tool_name":"` + long + `"}`, api.HookReport{Event: "PreToolUse", Tool: long[:api.MaxToolName]}},
		{"huge output", []string{"PostToolUse"}, `{"tool_name":"Read","tool_response":"` + strings.Repeat("x", 5<<20) + `"}`, api.HookReport{Event: "PostToolUse"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newHookProxy(t, http.StatusNoContent)
			proxyURL := strings.Replace(p.URL, "http://", "http://s1:sekrit@", 1)
			if err := Hook(context.Background(), tt.args, strings.NewReader(tt.stdin), env(map[string]string{"HTTPS_PROXY": proxyURL})); err != nil {
				t.Fatal(err)
			}
			r, b := <-p.got, <-p.bod
			if r.Method != "POST" || r.URL.String() != HookURL || r.Host != "clauderon.internal" {
				t.Errorf("request %s %s (host %s)", r.Method, r.URL, r.Host)
			}
			if got, want := r.Header.Get("Proxy-Authorization"), "Basic "+base64.StdEncoding.EncodeToString([]byte("s1:sekrit")); got != want {
				t.Errorf("Proxy-Authorization %q; want %q", got, want)
			}
			if len(b) > api.MaxHookBody {
				t.Errorf("the report is %d bytes, over %d", len(b), api.MaxHookBody)
			}
			var got api.HookReport
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("report %+v; want %+v", got, tt.want)
			}
		})
	}
}

// TestHookFails: with no proxy, or one that refuses, Hook says so (its
// command still exits 0).
func TestHookFails(t *testing.T) {
	if err := Hook(context.Background(), []string{"Stop"}, strings.NewReader("{}"), env(nil)); err == nil {
		t.Error("no proxy: no error")
	}
	p := newHookProxy(t, http.StatusTooManyRequests)
	err := Hook(context.Background(), []string{"Stop"}, strings.NewReader("{}"), env(map[string]string{"HTTP_PROXY": strings.Replace(p.URL, "http://", "http://s1:sekrit@", 1)}))
	if err == nil || strings.Contains(err.Error(), "sekrit") {
		t.Errorf("refused: %v", err)
	}
	if err := Hook(context.Background(), nil, strings.NewReader("{}"), env(map[string]string{"HTTP_PROXY": p.URL})); err == nil {
		t.Error("no event: no error")
	}
}
