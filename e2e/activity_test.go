//go:build linux

package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

// TestActivity: the real Claude Code in a real container reports its
// activity through its hooks: the fake upstream answers first with a
// Bash tool_use and then with text, and the session's activity goes
// through working with tool Bash to waiting_for_input once the turn ends.
// The same holds in an image without curl: the hook is clauderon's own
// static binary. The states are seen by polling GET /sessions/{name}; the
// tool takes a few seconds so that working: Bash lasts long enough to be
// seen.
func TestActivity(t *testing.T) {
	e := newSessionEnv(t)
	const cmd = "sleep 3; true"
	e.fake.SetRespond(func(body []byte) *fakeanthropic.Turn {
		m := fakeanthropic.ParseMessages(body)
		if !m.HasTool("Bash") || !strings.Contains(string(body), "run the command") {
			return nil // Claude Code's side requests
		}
		if len(m.ToolResults()) > 0 {
			return &fakeanthropic.Turn{Text: "the command ran"}
		}
		return &fakeanthropic.Turn{ToolUse: &fakeanthropic.ToolUse{Name: "Bash", Input: map[string]any{"command": cmd, "description": "run it"}}}
	})
	t.Cleanup(func() { e.fake.SetRespond(nil) })
	noCurl := derivedImage(t, e.image, "USER root\nRUN rm -f /usr/bin/curl /usr/local/bin/curl && ! command -v curl\nUSER claude")
	for _, tc := range []struct{ name, image string }{{"image", e.image}, {"no curl", noCurl}} {
		t.Run(tc.name, func(t *testing.T) {
			name := sname("act-" + strings.ReplaceAll(tc.name, " ", ""))
			clOK(t, e.home, "create", "--name", name, "--prompt", "run the command", "--image", tc.image, "--no-workdir")
			t.Cleanup(func() { cl(t, e.home, "rm", "--force", name) })
			c := e.d.client()
			var seen []string
			var last api.Activity
			sawTool := false
			waitFor(t, "working: Bash, then waiting_for_input", func() bool {
				s, err := c.Get(context.Background(), name)
				if err != nil || s.Activity == nil {
					return false
				}
				a := *s.Activity
				step := fmt.Sprintf("%s/%s/known=%v", a.State, a.Tool, a.Known)
				if len(seen) == 0 || seen[len(seen)-1] != step {
					seen = append(seen, step)
					t.Logf("activity: %s (status %s)", step, s.Status)
				}
				last = a
				if a.State == api.ActivityWorking && a.Tool == "Bash" {
					sawTool = true
				}
				return sawTool && a.State == api.ActivityWaitingInput
			})
			if !last.Known || last.Source != api.ActivityFromHooks {
				t.Errorf("the last activity %+v is not the hooks'", last)
			}
			if out := clOK(t, e.home, "list"); !strings.Contains(out, "waiting for input") {
				t.Errorf("list shows no activity:\n%s", out)
			}
			if out := clOK(t, e.home, "list", "--json"); !strings.Contains(out, `"waiting_for_input"`) {
				t.Errorf("list --json carries no activity:\n%s", out)
			}
			t.Logf("states seen: %s", strings.Join(seen, " → "))
		})
	}
}
